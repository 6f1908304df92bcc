"""The production profile of docs/deployment.md, run here: dagster-daemon, serve, PostgreSQL."""
