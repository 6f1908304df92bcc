"""Fixtures of the chaos tests.

``chaos_outcomes(backend)`` runs the whole chaos scenario (``chaos_scenario.run_chaos``: every
fault, an agency connection revoked mid-run, SIGKILL mid-load, one re-run) once per backend per
session and hands every test the same ``ChaosOutcome``: the scenario takes half a minute, its
tests only read what it observed. The interrupted-refresh tests use the pipeline tests' agency
fixtures, imported from ``tests/pipelines/fixtures.py`` (reused, not copied).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.chaos import FaultPlan
from testing.chaos_scenario import ChaosOutcome, ChaosOutcomes, chaos_agency, run_chaos
from testing.postgres_databases import temporary_database
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

# Seller N is a client of agency account (N - 1) mod 2: three healthy and one removed from the
# agency behind the first, three behind the second, whose connection is revoked mid-run (the
# first run is killed in its second load: enough healthy loads come before it).
CUSTOMERS = 7
DAYS = 40  # two statistics windows per customer (31 + 9 days)
# Shorter 429 storms than the bench's; on PostgreSQL the scenario is there for the kill, so
# without the latency spikes (DuckDB's run covers them), to keep the suite short.
PLANS = {"duckdb": FaultPlan(storm=4), "postgres": FaultPlan(spike_rate=0.0, storm=2)}


@pytest.fixture(scope="session")
def chaos_outcomes(tmp_path_factory: pytest.TempPathFactory) -> ChaosOutcomes:
    """``chaos_outcomes(backend)``: the scenario's outcome on ``duckdb`` (DuckDB + SQLite) or
    ``postgres`` (warehouse and control store on PostgreSQL), run on first use and cached for
    the session."""
    cache: dict[str, ChaosOutcome] = {}

    def outcome(backend: str) -> ChaosOutcome:
        if backend not in cache:
            cache[backend] = _run(backend, tmp_path_factory.mktemp(f"chaos-{backend}"))
        return cache[backend]

    return outcome


def _run(backend: str, folder: Path) -> ChaosOutcome:
    if backend == "duckdb":
        with chaos_agency(folder, CUSTOMERS) as stage:
            return run_chaos(stage, DAYS, PLANS[backend], log_dir=folder)
    # Warehouse and control store on PostgreSQL; Dagster's own storage stays in SQLite files:
    # the kill is about our stores, and Dagster on PostgreSQL costs ~50 ms per run event.
    with temporary_database() as url, chaos_agency(folder, CUSTOMERS, postgres_url=url) as stage:
        return run_chaos(stage, DAYS, PLANS[backend], log_dir=folder)
