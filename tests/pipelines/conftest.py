"""The pipeline tests' fixtures (``fixtures.py``; tests/chaos reuses them)."""

from __future__ import annotations

from tests.pipelines.fixtures import (  # fixtures, registered by import
    agencies,
    agency,
    agency_simulator,
    backend,
    dagster_pg_url,
    empty_agency,
    instance,
    stores,
)
