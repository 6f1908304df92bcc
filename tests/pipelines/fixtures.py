"""Fixtures of the pipeline tests: an "agency" on loopback.

``agency`` is a simulator with a fixed seed, a control store and a warehouse named by the
``ALLEGRO_ADS_*`` URL variables, its agency account(s) connected by the device flow, three of
their clients adopted as customers (each consenting its sales account through the real consent
service functions), and a Dagster instance. ``agencies`` (1 unless a test parametrises it) is
the simulator's number of agency accounts. ``backend`` is ``duckdb`` (DuckDB warehouse, SQLite
control store, Dagster in a temporary directory) unless a test parametrises it with ``BACKENDS``
(``pipeline_helpers``); ``postgres`` keeps the warehouse and the control store in
``postgres_url`` and Dagster's run, event-log and schedule storage in a PostgreSQL database of
its own (Dagster and the control store both keep an ``alembic_version`` table).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from control_store.database import upgrade
from settings.config import load_settings
from simulator.server import RunningSimulator
from testing.pipeline_agency import Agency
from testing.postgres_databases import temporary_database

SEED = 42
CUSTOMERS = 3
# Dagster's SQLite storage commits every event (a 60-day run writes ~150): on tmpfs when there.
FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

SimulatorFactory = Callable[..., RunningSimulator]


@pytest.fixture
def dagster_pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for Dagster's own storage, dropped afterwards."""
    with temporary_database("aam_dagster") as url:
        yield url


@pytest.fixture
def backend() -> str:
    """Which stores the agency uses: DuckDB + SQLite files, or ``postgres`` for all three.

    DuckDB unless a test parametrises ``backend`` with ``pipeline_helpers.BACKENDS``."""
    return "duckdb"


@pytest.fixture
def instance(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance: temporary directory, or PostgreSQL storage for that backend."""
    overrides = {}
    if backend == "postgres":
        url = request.getfixturevalue("dagster_pg_url")
        overrides = {"storage": {"postgres": {"postgres_url": url}}}
    with (
        tempfile.TemporaryDirectory(dir=FAST_TMP, ignore_cleanup_errors=True) as home,
        dg.instance_for_test(overrides=overrides, temp_dir=home) as test_instance,
    ):
        yield test_instance


@pytest.fixture
def stores(
    backend: str,
    isolated_settings: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ALLEGRO_ADS_CONTROL_URL`` / ``ALLEGRO_ADS_WAREHOUSE_URL`` for the backend; schema made."""
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        control_url = warehouse_url = url
    else:
        control_url = f"sqlite:///{isolated_settings / 'control.db'}"
        warehouse_url = f"duckdb:///{isolated_settings / 'warehouse.duckdb'}"
    isolated_settings.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", control_url)
    monkeypatch.setenv("ALLEGRO_ADS_WAREHOUSE_URL", warehouse_url)
    upgrade(control_url)


@pytest.fixture
def agencies() -> int:
    """The simulator's agency accounts: 1 unless a test parametrises ``agencies``."""
    return 1


@pytest.fixture
def agency_simulator(
    simulator_factory: SimulatorFactory, agencies: int, monkeypatch: pytest.MonkeyPatch
) -> RunningSimulator:
    """The simulated Allegro (fixed seed), accepting the redirect URI the settings use."""
    redirect_uri = load_settings().redirect_uri
    sim = simulator_factory(seed=SEED, redirect_uris=(redirect_uri,), agencies=agencies)
    monkeypatch.setenv("ALLEGRO_ADS_API_URL", sim.base_url)
    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", sim.base_url)
    return sim


@pytest.fixture
def empty_agency(
    backend: str,
    stores: None,
    agency_simulator: RunningSimulator,
    instance: dg.DagsterInstance,
) -> Agency:
    """The agency with its agency accounts connected (device flow), no customers yet."""
    agency = Agency(backend, load_settings(), agency_simulator, instance)
    for account in agency_simulator.agencies():
        agency.connect_agency(account["login"])
    return agency


@pytest.fixture
def agency(empty_agency: Agency) -> Agency:
    """The agency with ``CUSTOMERS`` clients adopted as customers, each consenting its sales
    account through the link."""
    for user in empty_agency.simulator.users()[:CUSTOMERS]:
        empty_agency.connect(user["login"], user["name"])
    return empty_agency
