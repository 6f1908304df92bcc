"""Helpers for the customer-onboarding tests: the running stack, a customer's browser over plain
HTTP (``requests``), the command line as a subprocess, and what the control store holds."""

from __future__ import annotations

import html
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

from allegro_resource.ads_client import AllegroAdsClient
from control_store import auth_links, customers
from control_store.auth_links import AuthLink
from control_store.customers import Customer
from control_store.schema import oauth_states, oauth_tokens
from services.clients import oauth_client, token_manager
from services.control import Control
from services.links import IssuedLink, issue_link, url_for_link
from simulator.browser import answer_consent_page
from simulator.server import RunningSimulator

CALLBACK_PATH = "/oauth/callback"
AUTHORIZE_PATH = "/auth/oauth/authorize"  # the simulator's, as Allegro's
STATE_COOKIE = "aam_oauth_state"
CLI_TIMEOUT_SECONDS = 60


@dataclass
class Onboarding:
    """The real pieces on loopback: Allegro (the simulator), our web app, the control store."""

    web_url: str
    simulator: RunningSimulator
    control: Control

    def new_customer(self, name: str = "Sklep Ogrodowy") -> Customer:
        return customers.create_customer(self.control.engine, name)

    def new_link(self, customer: Customer) -> IssuedLink:
        return issue_link(self.control, customer.id, created_by="test")

    def expired_link(self, customer: Customer) -> IssuedLink:
        """A link that expired an hour ago."""
        issued = datetime.now(UTC) - timedelta(hours=2)
        link = auth_links.create_link(
            self.control.engine, customer.id, ttl=timedelta(hours=1), now=issued
        )
        return IssuedLink(link, url_for_link(self.control, link.id))

    def seller_login(self, index: int = 0) -> str:
        """The Allegro login of one of the simulator's sellers."""
        return str(self.simulator.users()[index]["login"])


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the customer's browser, over plain HTTP ---------------------------------------


def allegro_consent_page(http: requests.Session, link_url: str) -> requests.Response:
    """Open the link and press "Continue to Allegro": the simulator's consent page."""
    page = http.post(link_url, timeout=30)
    assert page.status_code == 200, page.text
    assert AUTHORIZE_PATH in page.url, page.url
    return page


def callback_url(
    http: requests.Session, link_url: str, login: str, decision: str = "approve"
) -> str:
    """Go through our start page and Allegro's consent page; the callback URL not yet opened."""
    page = allegro_consent_page(http, link_url)
    answer = answer_consent_page(http, page, login, decision, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert CALLBACK_PATH in location, location
    return location


def consent_over_http(
    http: requests.Session, link_url: str, login: str, decision: str = "approve"
) -> requests.Response:
    """The whole consent as a customer's browser does it; our page at the end."""
    return http.get(callback_url(http, link_url, login, decision), timeout=30)


def connect(onboarding: Onboarding, name: str, seller: int = 0) -> tuple[Customer, IssuedLink]:
    """A customer connected over HTTP as the simulator's ``seller``-th seller."""
    customer = onboarding.new_customer(name)
    issued = onboarding.new_link(customer)
    with requests.Session() as http:
        done = consent_over_http(http, issued.url, onboarding.seller_login(seller))
    assert done.status_code == 200, done.text
    return customer, issued


# --- the command line ----------------------------------------------------------------


def run_cli(*argv: str, cwd: Path) -> str:
    """``allegro-ads ARGV`` as a real process with this test's environment; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "allegro_ads", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"allegro-ads {' '.join(argv)} failed:\n{done.stderr}"
    return done.stdout


def table_row(table: str, first_cell: str) -> list[str]:
    """The cells of the row of a CLI table whose first column is ``first_cell``."""
    for line in table.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{table}")


# --- what the control store holds --------------------------------------------------------


def raw_token_row(control: Control, customer_id: str) -> Any:
    """The customer's ``oauth_tokens`` row exactly as stored (None if there is none)."""
    with control.engine.connect() as conn:
        return conn.execute(
            select(oauth_tokens).where(oauth_tokens.c.account_id == customer_id)
        ).first()


def login_seen_by_api(control: Control, customer_id: str) -> str:
    """``/me``'s login, called with the customer's stored tokens as the pipelines do."""
    settings = control.settings
    oauth = oauth_client(settings)
    try:
        with AllegroAdsClient(settings.api_url, token_manager(control, oauth)) as api:
            return api.me(customer_id).login
    finally:
        oauth.close()


def sign_ins_started(control: Control, link_id: str | None = None) -> int:
    """How many OAuth sign-ins were started with this link (or with any)."""
    stmt = select(func.count()).select_from(oauth_states)
    if link_id is not None:
        stmt = stmt.where(oauth_states.c.link_id == link_id)
    with control.engine.connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)


def token_rows(control: Control) -> int:
    """How many customers have tokens stored."""
    with control.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(oauth_tokens)).scalar() or 0)


def the_link(control: Control, link_id: str) -> AuthLink:
    found = auth_links.get_link(control.engine, link_id)
    assert found is not None
    return found


def assert_nothing_stored(control: Control, customer: Customer, link_id: str) -> None:
    """No tokens, no Allegro account bound, the link unused."""
    assert raw_token_row(control, customer.id) is None
    stored = customers.get_customer(control.engine, customer.id)
    assert stored is not None
    assert stored.allegro_login is None
    assert stored.allegro_user_id is None
    assert the_link(control, link_id).used_at is None


def page_text(response: requests.Response) -> str:
    """The page's words without markup, entities decoded (for "the page says …" assertions)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())
