"""Tests of the control store: schema, links, tokens and their refresh, users, API log, CLI."""
