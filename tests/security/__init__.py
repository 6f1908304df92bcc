"""Security tests: sign-in, sessions, scope, links, bodies, markup, SQL, secrets, the CLI."""
