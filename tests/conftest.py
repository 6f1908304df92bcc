"""Fixtures shared by every test: an isolated data folder, the simulator on loopback, PostgreSQL.

Package-specific fixtures live in the conftest.py of each test folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.server import RunningSimulator, start_simulator
from simulator.state import SimulatorConfig
from testing.postgres_databases import temporary_database


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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with temporary_database() as url:
        yield url
