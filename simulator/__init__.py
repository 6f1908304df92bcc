"""A local stand-in for Allegro's OAuth and Ads API (tests, demo, benchmarks; never production)."""
