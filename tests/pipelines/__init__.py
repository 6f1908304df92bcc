"""Tests of the Dagster definitions: runs, backfills, checks, automation, failures, deploy."""
