"""The operations the portal, Dagster and the CLI share: consent, links, connections, stats sync."""
