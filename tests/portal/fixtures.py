"""Fixtures of the portal tests: one stack per session (simulator as Allegro, SQLite control
store, DuckDB warehouse loaded through the real client, the web app under waitress), staff
accounts signed in over HTTP, and headless Chromium (the onboarding tests' fixtures, reused).

North portfolio: a connected customer and one with hostile names; South: another connected
customer; one customer in no portfolio. The viewer sees North only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from argon2 import PasswordHasher
from cryptography.fernet import Fernet

from allegro_resource.ads_client import AllegroAdsClient
from authorize_app.app import create_app
from authorize_app.server import start_in_thread
from control_store import customers, portfolios, users
from control_store.api_call_log import ControlStoreCallLog
from control_store.customers import Customer
from control_store.database import upgrade
from services.clients import oauth_client, token_manager
from services.control import Control, open_control
from services.stats_sync import CustomerTarget, sync_statistics
from settings.config import Settings
from simulator.server import RunningSimulator, start_simulator
from simulator.state import SimulatorConfig
from tests.authorize_app.onboarding_helpers import CALLBACK_PATH, free_port
from tests.portal.portal_helpers import (
    HOSTILE_CUSTOMER,
    Account,
    PortalStack,
    connect,
    hostile_rows,
    load_rows,
    sign_in,
    yesterday,
)
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse

STORED_DAYS = 14


def _settings(data_dir: Path, web_url: str, simulator: RunningSimulator) -> Settings:
    return Settings(
        env="development",
        data_dir=data_dir,
        control_url=f"sqlite:///{data_dir / 'control.db'}",
        warehouse_url=f"duckdb:///{data_dir / 'warehouse.duckdb'}",
        auth_url=simulator.base_url,
        api_url=simulator.base_url,
        redirect_uri=f"{web_url}{CALLBACK_PATH}",
        public_url=web_url,
        agency_name="Agencja Testowa",
        token_keys=Fernet.generate_key().decode(),
        signing_key="portal-tests-signing-key-0123456789abcdef",
    )


def _load_from_allegro(control: Control, wh: Warehouse, connected: list[Customer]) -> None:
    """The stored days of the connected customers, fetched and loaded as the pipeline does."""
    end = yesterday()
    start = end - timedelta(days=STORED_DAYS - 1)
    targets = [CustomerTarget(c.id, c.name, str(c.ads_client_id)) for c in connected]
    settings = control.settings
    with (
        ControlStoreCallLog(control.engine) as call_log,
        closing(oauth_client(settings, call_log)) as oauth,
        AllegroAdsClient(settings.api_url, token_manager(control, oauth), call_log) as api,
    ):
        report = sync_statistics(api, wh, targets, start, end, run_id="portal-tests")
    assert not report.failed, report.failed


def _campaign_ids(wh: Warehouse, customer_id: str) -> list[str]:
    table = wh.read(
        "SELECT campaign_id FROM campaigns WHERE customer_id = $customer_id",
        {"customer_id": customer_id},
    )
    return [str(value) for value in table.column("campaign_id").to_pylist()]


def _accounts(control: Control, north: str) -> tuple[Account, Account, Account]:
    admin, viewer, lonely = (
        Account("admin@agency.test"),
        Account("viewer.north@agency.test"),
        Account("lonely@agency.test"),
    )
    users.create_user(control.engine, admin.email, admin.password, "admin")
    for account in (viewer, lonely):
        users.create_user(control.engine, account.email, account.password, "viewer")
    portfolios.grant(control.engine, viewer.email, north)
    return admin, viewer, lonely


@pytest.fixture(scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with test-sized cost (as the control tests do): the same code path, but a
    sign-in costs 1 ms instead of 0.35 s, and these tests sign in a few hundred times."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        yield


@pytest.fixture(scope="session")
def portal(
    tmp_path_factory: pytest.TempPathFactory, cheap_password_hashing: None
) -> Iterator[PortalStack]:
    """The whole stack, built once: sessions of all portal tests share it (they add, never
    take away, except on customers they create themselves)."""
    data_dir = tmp_path_factory.mktemp("portal")
    port = free_port()
    web_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(SimulatorConfig(redirect_uris=(f"{web_url}{CALLBACK_PATH}",)))
    settings = _settings(data_dir, web_url, simulator)
    upgrade(settings.resolved_control_url)
    web = start_in_thread(create_app(settings), port=port)
    control = open_control(settings)
    wh = open_warehouse(settings.resolved_warehouse_url)
    try:
        yield _build(control, simulator, settings, wh, web_url)
    finally:
        wh.close()
        control.close()
        web.stop()
        simulator.stop()


def _build(
    control: Control, simulator: RunningSimulator, settings: Settings, wh: Warehouse, url: str
) -> PortalStack:
    engine = control.engine
    north, south = (portfolios.create_portfolio(engine, n).id for n in ("North", "South"))
    alpha = customers.create_customer(engine, "Alfa Ogrody", portfolio=north)
    beta = customers.create_customer(engine, "Beta Meble", portfolio=south)
    alpha, beta = (connect(control, simulator, c, seller) for seller, c in enumerate((alpha, beta)))
    hostile = customers.create_customer(engine, HOSTILE_CUSTOMER, portfolio=north)
    orphan = customers.create_customer(engine, "Bez Portfela")
    _load_from_allegro(control, wh, [alpha, beta])
    day = yesterday()
    load_rows(wh, hostile.id, day, hostile_rows(day, "north"))
    load_rows(wh, orphan.id, day, hostile_rows(day, "orphan"))
    admin, viewer, lonely = _accounts(control, north)
    return PortalStack(
        url=url,
        simulator=simulator,
        control=control,
        settings=settings,
        warehouse=wh,
        admin=admin,
        viewer=viewer,
        lonely_viewer=lonely,
        north=[alpha, hostile],
        south=[beta],
        orphan=orphan,
        start=day - timedelta(days=STORED_DAYS - 1),
        end=day,
        foreign_campaigns=_campaign_ids(wh, beta.id) + _campaign_ids(wh, orphan.id),
        spare_sellers=list(range(2, 10)),
    )


@pytest.fixture(scope="session")
def admin_http(portal: PortalStack) -> Iterator[requests.Session]:
    """Signed in as the admin (shared: tests must not sign it out)."""
    with sign_in(portal, portal.admin) as http:
        yield http


@pytest.fixture(scope="session")
def viewer_http(portal: PortalStack) -> Iterator[requests.Session]:
    """Signed in as the North viewer (shared: tests must not sign it out)."""
    with sign_in(portal, portal.viewer) as http:
        yield http


@pytest.fixture
def anon_http() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http
