"""The control store: customers, links, users, portfolios, encrypted tokens, the API-call log.

Its Alembic migrations live in ``migrations/``.
"""
