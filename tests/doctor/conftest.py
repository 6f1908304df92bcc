"""Fixtures of the doctor tests: fresh stores named by the ALLEGRO_ADS_* URL variables, the
simulator as Allegro, its agency account connected and customers adopted from its clients and
consenting through the real service functions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from control_store.agency_accounts import AgencyAccount
from control_store.database import upgrade
from services.control import open_control
from settings.config import load_settings
from simulator.server import RunningSimulator
from testing.simulated_agency import adopt_seller, connect_agency
from testing.simulated_consent import consent_as_seller
from warehouse.backends import open_warehouse

Connect = Callable[[str], str]


@pytest.fixture(params=["files", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_stores(
    request: pytest.FixtureRequest, isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """An upgraded control store and a created warehouse: SQLite + DuckDB, or one PostgreSQL."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        control_url = warehouse_url = url
    else:
        control_url = f"sqlite:///{isolated_settings / 'control.db'}"
        warehouse_url = f"duckdb:///{isolated_settings / 'warehouse.duckdb'}"
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", control_url)
    monkeypatch.setenv("ALLEGRO_ADS_WAREHOUSE_URL", warehouse_url)
    upgrade(control_url)
    open_warehouse(warehouse_url).close()
    return control_url, warehouse_url


@pytest.fixture
def allegro(simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> RunningSimulator:
    """The simulator, configured as Allegro's auth and API bases."""
    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", simulator.base_url)
    monkeypatch.setenv("ALLEGRO_ADS_API_URL", simulator.base_url)
    return simulator


@pytest.fixture
def agency(fresh_stores: tuple[str, str], allegro: RunningSimulator) -> AgencyAccount:
    """The simulator's agency account connected (device flow) and its clients listed."""
    with open_control(load_settings()) as control:
        return connect_agency(control, allegro, "Agencja")


@pytest.fixture
def connect(agency: AgencyAccount, allegro: RunningSimulator) -> Connect:
    """Adopt a simulated seller's client as a customer and connect its sales account through
    the consent flow; returns the customer id."""

    def connect_login(login: str) -> str:
        with open_control(load_settings()) as control:
            customer = adopt_seller(control, allegro, agency, login)
            consent_as_seller(control, customer.id, login)
        return customer.id

    return connect_login
