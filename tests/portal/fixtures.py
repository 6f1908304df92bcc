"""Fixtures of the portal tests: one stack per session (simulator as Allegro with two agency
accounts, SQLite control store, DuckDB warehouse loaded through the real client, the web app
under waitress), staff accounts signed in over HTTP, and headless Chromium (the onboarding
tests' fixtures, reused).

The agency account "Agencja Główna" is connected as the simulator's ``agency``; its clients are
listed. North portfolio: a customer linked to one of its clients and connected (sales account,
offers loaded), and one with hostile names; South: another linked and connected customer; one
customer in no portfolio. The viewer sees North only. The simulator's ``agency2`` is left for
the browser test to connect through the portal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from argon2 import PasswordHasher
from cryptography.fernet import Fernet

from authorize_app.app import create_app
from authorize_app.portal.app import PortalApp
from authorize_app.server import start_in_thread
from control_store import agency_accounts, agency_clients, customers, portfolios, users
from control_store.customers import Customer
from control_store.database import upgrade
from services.control import Control, open_control
from settings.config import Settings
from simulator.server import RunningSimulator, start_simulator
from simulator.state import SimulatorConfig
from testing.simulated_agency import connect_agency_as
from tests.authorize_app.onboarding_helpers import CALLBACK_PATH, free_port
from tests.portal.portal_helpers import (
    AGENCY_LOGIN,
    HOSTILE_CUSTOMER,
    MAIN_AGENCY,
    Account,
    PortalStack,
    connect,
    hostile_rows,
    list_agency_clients,
    load_from_allegro,
    load_offers_from_allegro,
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


def _linked_to_agency(
    control: Control, simulator: RunningSimulator, agency_id: str, customer: Customer, seller: int
) -> Customer:
    """The customer linked to the agency client of the simulator's ``seller``-th seller."""
    client_id = str(simulator.users()[seller]["ads_client_id"])
    return agency_clients.link_customer(control.engine, agency_id, client_id, customer.id)


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
    simulator = start_simulator(
        SimulatorConfig(redirect_uris=(f"{web_url}{CALLBACK_PATH}",), users=14, agencies=2)
    )
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
    admin, viewer, lonely = _accounts(control, north)
    admin_id = users.find_user(engine, admin.email).id
    agency = agency_accounts.create_agency_account(engine, MAIN_AGENCY)
    connect_agency_as(control, agency.id, admin_id, AGENCY_LOGIN)
    list_agency_clients(control, agency.id)
    alpha = customers.create_customer(engine, "Alfa Ogrody", portfolio=north)
    beta = customers.create_customer(engine, "Beta Meble", portfolio=south)
    # Sellers 0 and 2 are clients of "agency" (seller N belongs to agency (N - 1) mod 2).
    alpha, beta = (
        _linked_to_agency(control, simulator, agency.id, c, seller)
        for seller, c in ((0, alpha), (2, beta))
    )
    alpha, beta = (connect(control, simulator, c, seller) for seller, c in ((0, alpha), (2, beta)))
    hostile = customers.create_customer(engine, HOSTILE_CUSTOMER, portfolio=north)
    orphan = customers.create_customer(engine, "Bez Portfela")
    end = yesterday()
    load_from_allegro(control, wh, [alpha, beta], end - timedelta(days=STORED_DAYS - 1), end)
    for customer in (alpha, beta):
        load_offers_from_allegro(control, wh, customer)
    day = yesterday()
    load_rows(wh, hostile.id, day, hostile_rows(day, "north"))
    load_rows(wh, orphan.id, day, hostile_rows(day, "orphan"))
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
        agency=agency_accounts.find_agency_account(engine, agency.id),
        # Sellers no customer is bound to yet: 4, 6, 8 are clients of "agency", 1, 3, 5, 7 of
        # "agency2" (seller 9, also "agency2"'s, is the browser test's to adopt in the portal).
        spare_sellers=[4, 6, 8, 1, 3, 5, 7],
    )


@pytest.fixture(scope="session")
def portal_app(portal: PortalStack) -> Iterator[PortalApp]:
    """The portal's WSGI app over the stack's stores, for werkzeug's test client (no server)."""
    app = PortalApp(portal.control, warehouse_url=portal.settings.resolved_warehouse_url)
    yield app
    app.close()


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
