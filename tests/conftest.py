"""Fixtures shared by every test: an isolated data folder, the simulator on loopback, PostgreSQL.

Package-specific fixtures live in the conftest.py of each test folder.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from allegro_resource.simulator.server import RunningSimulator, start_simulator
from allegro_resource.simulator.state import SimulatorConfig

# CI has PostgreSQL at this address too: tests that need it fail loudly instead of skipping.
POSTGRES_ADMIN_URL = os.environ.get(
    "ALLEGRO_ADS_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data folder and no ALLEGRO_ADS_* leaking in from the shell."""
    for name in list(os.environ):
        if name.startswith("ALLEGRO_ADS_") and name != "ALLEGRO_ADS_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("ALLEGRO_ADS_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    """A fresh simulator (default seed, 10 users) served on a free loopback port."""
    running = start_simulator(SimulatorConfig())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def simulator_factory() -> Iterator[object]:
    """Start simulators with custom configuration: ``simulator_factory(users=2500)``."""
    started: list[RunningSimulator] = []

    def factory(**config: object) -> RunningSimulator:
        running = start_simulator(SimulatorConfig(**config))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


def _admin_connection() -> psycopg2.extensions.connection:
    url = make_url(POSTGRES_ADMIN_URL)
    conn = psycopg2.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"aam_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
