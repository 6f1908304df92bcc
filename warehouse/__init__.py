"""The reporting store only: schema, migrations, idempotent slice loads, queries, exports."""
