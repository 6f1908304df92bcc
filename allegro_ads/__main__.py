import sys

from allegro_ads.cli import main

sys.exit(main())
