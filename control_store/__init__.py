"""The control store: customers, links, users, portfolios, tokens, API-call log, migrations."""
