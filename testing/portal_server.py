"""The portal benchmarks' shared pieces: the real app served by waitress in a child process over
a fresh control store, bench customers seeded with the warehouse's ids (each linked to its client
of a connected agency account, as the product's customers are), signing in through the login
form, and percentiles.

Used by ``bench/portal.py`` (one report, timed) and ``bench/portal_load.py`` (many users, a mix).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from multiprocessing.connection import Connection
from pathlib import Path

import requests
from sqlalchemy import update

from allegro_resource.models import TokenSet
from control_store import agency_accounts, agency_clients, customers, users
from control_store.database import upgrade
from control_store.schema import customers as customers_table
from services.control import Control, open_control
from settings.config import Settings
from simulator.entities import make_users
from testing.portal_data import BenchWarehouse

REQUEST_TIMEOUT = 120.0
Jar = requests.cookies.RequestsCookieJar
Seeder = Callable[[Control], None]
BENCH_AGENCY = "Bench agency"
# The agency account's stored pair: the portal never calls Allegro in these benchmarks, so the
# tokens are placeholders; what matters is a connection the board shows as connected.
PLACEHOLDER_TOKEN_LIFETIME = timedelta(hours=12)


class SignInFailed(RuntimeError):
    """The login form did not sign the account in."""


@contextmanager
def serve_portal(
    folder: Path, warehouse_url: str, seed: Seeder, *, cheap_passwords: bool = False
) -> Iterator[str]:
    """The real app (its base URL) over a fresh control store in ``folder`` that ``seed`` fills
    (through a ``Control`` with the server's own settings, so stored tokens are readable there).

    The server runs in a child process, as in production: the bench's own HTTP client threads
    must not compete with the server for this process's interpreter lock. ``cheap_passwords``
    gives the server test-sized Argon2 (for tests that sign many users in; seed with the same).
    """
    control_url = f"sqlite:///{folder / 'control.db'}"
    environment = {
        "ALLEGRO_ADS_DATA_DIR": str(folder),
        "ALLEGRO_ADS_CONTROL_URL": control_url,
        "ALLEGRO_ADS_WAREHOUSE_URL": warehouse_url,
    }
    upgrade(control_url)
    # The data folder's development keys, the ones the server will find there.
    with open_control(Settings(data_dir=folder, control_url=control_url)) as control:
        seed(control)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=_serve_in_child, args=(environment, cheap_passwords, theirs), daemon=True
    )
    child.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


def _serve_in_child(environment: dict[str, str], cheap_passwords: bool, conn: Connection) -> None:
    os.environ.update(environment)
    from authorize_app.app import create_app
    from authorize_app.server import start_in_thread
    from settings.config import load_settings

    if cheap_passwords:
        use_cheap_password_hashing()
    # With more users than waitress threads the queue is deep by design; one warning a request
    # would drown the figures.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = start_in_thread(create_app(load_settings()))
    conn.send(server.url)
    conn.recv()  # any message: stop
    server.stop()


def use_cheap_password_hashing() -> None:
    """Argon2 at test cost in this process (the tests' own setting), not the production cost."""
    from argon2 import PasswordHasher

    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def seed_bench_agency(control: Control, built: BenchWarehouse) -> str:
    """The simulator's agency account, connected (a placeholder pair), with every client of the
    warehouse in its recorded client list; its id."""
    sellers, agencies = make_users(built.seed, len(built.customer_ids))
    agency = next(user for user in agencies if user.login == built.agency_login)
    account = agency_accounts.create_agency_account(control.engine, BENCH_AGENCY)
    now = datetime.now(UTC)
    placeholder = TokenSet(
        access_token="bench-placeholder-access",
        refresh_token="bench-placeholder-refresh",
        expires_at=now + PLACEHOLDER_TOKEN_LIFETIME,
        scope="allegro:api:ads",
    )
    control.tokens.save_agency_connection(
        account.id,
        placeholder,
        allegro_login=agency.login,
        allegro_user_id=agency.user_id,
        now=now,
    )
    names = {str(seller.ads_client_id): seller.name for seller in sellers}
    listing = [(client_id, names[client_id]) for client_id in built.ads_client_ids]
    agency_clients.record_client_listing(control.engine, account.id, listing, now)
    return account.id


def seed_bench_customers(
    control: Control,
    built: BenchWarehouse,
    ids: Sequence[str],
    portfolio_of: Mapping[str, str] | None = None,
) -> None:
    """Customers ``ids`` with the warehouse's ids, each linked to its seller's client of the
    connected bench agency account and named after the seller with the id in brackets,
    optionally in the portfolio (name or id) ``portfolio_of`` gives."""
    engine = control.engine
    agency_id = seed_bench_agency(control, built)
    sellers, _agencies = make_users(built.seed, len(built.customer_ids))
    client_of = dict(zip(built.customer_ids, built.ads_client_ids, strict=True))
    index_of = {customer_id: i for i, customer_id in enumerate(built.customer_ids)}
    for customer_id in ids:
        seller = sellers[index_of[customer_id]]
        portfolio = (portfolio_of or {}).get(customer_id)
        created = customers.create_customer(
            engine, f"{seller.name} ({customer_id})", portfolio=portfolio
        )
        with engine.begin() as conn:  # create_customer draws a random id; use the bench's
            conn.execute(
                update(customers_table)
                .where(customers_table.c.id == created.id)
                .values(id=customer_id, allegro_login=seller.login)
            )
        customers.set_statistics_link(engine, customer_id, agency_id, client_of[customer_id])


class _CsrfField(HTMLParser):
    """Finds ``<input name="csrf_token" value=…>`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name") == "csrf_token":
            self.token = found.get("value")


def sign_in(base_url: str, email: str, password: str) -> requests.Session:
    """A session signed in through the login form (CSRF token included)."""
    session = requests.Session()
    page = session.get(f"{base_url}/portal/login", timeout=REQUEST_TIMEOUT)
    page.raise_for_status()
    parser = _CsrfField()
    parser.feed(page.text)
    if not parser.token:
        raise SignInFailed("the login page has no csrf_token input; is the portal finished?")
    answer = session.post(
        f"{base_url}/portal/login",
        data={"email": email, "password": password, "csrf_token": parser.token},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )
    if answer.status_code not in (302, 303) or "login" in answer.headers.get("Location", ""):
        raise SignInFailed(
            f"sign-in of {email} failed: HTTP {answer.status_code} {answer.text[:300]}"
        )
    return session


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]
