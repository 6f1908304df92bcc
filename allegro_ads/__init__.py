"""The command line of Allegro Ads Manager (``allegro-ads``), its demo and its doctor."""
