"""Configuration: every ``ALLEGRO_ADS_*`` setting, read once (the bottom layer)."""
