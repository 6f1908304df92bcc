"""The Dagster definitions only: assets, partitions, schedule, sensor, checks, resources."""
