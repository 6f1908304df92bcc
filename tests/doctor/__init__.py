"""Tests of ``allegro-ads doctor``."""
