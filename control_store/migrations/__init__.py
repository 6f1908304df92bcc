"""Alembic migrations of the control store (run with `allegro-ads db upgrade`)."""
