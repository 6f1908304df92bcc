"""Tests of the Allegro client: OAuth, tokens, retries, paging, statistics, parsing."""
