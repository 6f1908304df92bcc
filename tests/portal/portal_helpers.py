"""Helpers of the portal tests: the running stack (simulator as Allegro, control store,
warehouse, web app), staff accounts, signing in over HTTP, and data with hostile names."""

from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import pyarrow as pa
import pytest
import requests
from markupsafe import Markup
from werkzeug.test import Client

from allegro_resource.models import AdType, StatRow
from allegro_resource.windows import reporting_today
from control_store import customers
from control_store.agency_accounts import AgencyAccount
from control_store.api_call_log import ControlStoreCallLog
from control_store.customers import Customer
from services.agency_connect import record_clients_now
from services.clients import ads_client, oauth_client, token_manager
from services.control import Control
from services.links import issue_link
from services.stats_sync import CustomerTarget, sync_statistics
from settings.config import Settings
from simulator.server import RunningSimulator
from testing.stat_tables import stat_rows_to_arrow
from tests.authorize_app.onboarding_helpers import consent_over_http
from warehouse.offers_schema import OFFER_INPUT_SCHEMA
from warehouse.stats_loader import Warehouse

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

PASSWORD = "correct horse battery"
MAIN_AGENCY = "Agencja Główna"
AGENCY_LOGIN = "agency"  # the simulator's first agency account
SECOND_AGENCY_LOGIN = "agency2"
PORTAL_ADOPTED_SELLER = 9  # a client of "agency2": the browser test adopts it in the portal
HOSTILE_CUSTOMER = "<script>alert('pwn')</script> Sklep & Co"
HOSTILE_CAMPAIGN = '<img src=x onerror="alert(1)"> Promo'
INJECTION = "' OR 1=1 --"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
HTTP_TIMEOUT = 60


@dataclass(frozen=True)
class Account:
    email: str
    password: str = PASSWORD


@dataclass
class PortalStack:
    """Everything the portal tests drive; built once per session by the ``portal`` fixture."""

    url: str  # the web app's root, e.g. http://127.0.0.1:PORT
    simulator: RunningSimulator
    control: Control
    settings: Settings
    warehouse: Warehouse
    admin: Account
    viewer: Account  # granted the North portfolio only
    lonely_viewer: Account  # granted nothing
    north: list[Customer]
    south: list[Customer]
    orphan: Customer  # in no portfolio: admins only
    start: date
    end: date
    foreign_campaigns: list[str] = field(default_factory=list)
    agency: AgencyAccount | None = None  # "Agencja Główna", connected as the simulator's agency
    spare_sellers: list[int] = field(default_factory=list)

    def portal(self, path: str = "") -> str:
        return f"{self.url}/portal{path}"

    def foreign_markers(self) -> list[str]:
        """Strings that only the South portfolio's (and the orphan's) data contains."""
        others = [*self.south, self.orphan]
        markers = [c.id for c in others] + [c.name for c in others]
        markers += [c.allegro_login for c in others if c.allegro_login]
        markers += [c.ads_client_id for c in others if c.ads_client_id]
        return markers + self.foreign_campaigns

    def next_seller(self) -> int:
        """A simulated seller no customer is bound to yet."""
        return self.spare_sellers.pop(0)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF_FIELD.search(html)
    assert found, "no csrf_token on the page"
    return found.group(1)


def sign_in(stack: PortalStack, account: Account) -> requests.Session:
    """A browser-like session signed in as ``account`` (login form GET, then POST)."""
    http = requests.Session()
    form = http.get(stack.portal("/login"), timeout=HTTP_TIMEOUT)
    assert form.status_code == 200, form.text
    fields = {"email": account.email, "password": account.password}
    done = post(http, stack.portal("/login"), fields | {"csrf_token": csrf_of(form.text)})
    assert done.status_code == 303, done.text
    return http


def page_csrf(http: requests.Session, url: str) -> str:
    """The CSRF token of this session, read from a page that has a form."""
    page = http.get(url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def signed_in(app: WSGIApplication, account: Account) -> Client:
    """A werkzeug test client of the portal app with a session of ``account`` (through the
    login form, CSRF token included)."""
    client = Client(app)
    form = client.get("/login").get_data(as_text=True)
    done = client.post(
        "/login",
        data={"email": account.email, "password": account.password, "csrf_token": csrf_of(form)},
    )
    assert done.status_code == 303, done.get_data(as_text=True)
    return client


def pull_live(
    http: requests.Session, stack: PortalStack, query: str, *, export: str | None = None
) -> requests.Response:
    """A live pull as the live page's form sends it: a POST with the session's CSRF token and
    the fields of ``query`` (a query string); ``export``: the live export in that format."""
    csrf = page_csrf(http, stack.portal("/reports/live"))
    fields = [*parse_qsl(query, keep_blank_values=True), ("csrf_token", csrf)]
    path = "/reports/live"
    if export is not None:
        fields.append(("format", export))
        path = "/reports/live/export"
    return http.post(stack.portal(path), data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT)


def post(http: requests.Session, url: str, data: dict[str, Any] | None = None) -> requests.Response:
    return http.post(url, data=data or {}, allow_redirects=False, timeout=HTTP_TIMEOUT)


def connect(
    control: Control, simulator: RunningSimulator, customer: Customer, seller: int
) -> Customer:
    """The customer consents over HTTP (link, Allegro's page, callback) as the simulator's
    ``seller``-th seller."""
    login = str(simulator.users()[seller]["login"])
    with requests.Session() as http:
        done = consent_over_http(http, issue_link(control, customer.id).url, login)
    assert done.status_code == 200, done.text
    connected = customers.get_customer(control.engine, customer.id)
    assert connected is not None and connected.allegro_login == login
    return connected


def list_agency_clients(control: Control, agency_account_id: str) -> None:
    """Record the agency account's client list now, as the portal's button does."""
    settings = control.settings
    with (
        closing(oauth_client(settings)) as oauth,
        ads_client(settings, token_manager(control, oauth)) as api,
    ):
        record_clients_now(control, api, agency_account_id)


def load_from_allegro(
    control: Control, wh: Warehouse, linked: list[Customer], start: date, end: date
) -> None:
    """The customers' statistics for ``start..end``, read with their agency account's token
    and loaded as the pipeline does."""
    targets = [
        CustomerTarget(c.id, c.name, str(c.ads_client_id), agency_account_id=c.agency_account_id)
        for c in linked
    ]
    settings = control.settings
    with (
        ControlStoreCallLog(control.engine) as call_log,
        closing(oauth_client(settings, call_log)) as oauth,
        ads_client(settings, token_manager(control, oauth), call_log) as api,
    ):
        report = sync_statistics(api, wh, targets, start, end, run_id="portal-tests")
    assert not report.failed, report.failed


def load_offers_from_allegro(control: Control, wh: Warehouse, customer: Customer) -> int:
    """The offers the customer's sponsored ads point to, read with its sales account's token
    into the warehouse's ``offers``; how many."""
    ids = wh.read(
        "SELECT DISTINCT offer_id FROM ads WHERE customer_id = $customer_id "
        "AND offer_id IS NOT NULL ORDER BY offer_id",
        {"customer_id": customer.id},
    ).column("offer_id")
    settings = control.settings
    with (
        closing(oauth_client(settings)) as oauth,
        ads_client(settings, token_manager(control, oauth)) as api,
    ):
        offers = api.offers(customer.id, [str(i) for i in ids.to_pylist()])
    table = pa.Table.from_pylist(
        [
            {
                "offer_id": o.id,
                "name": o.name,
                "price": o.price,
                "currency": o.currency,
                "stock_available": o.stock_available,
                "stock_sold": o.stock_sold,
                "status": str(o.status),
            }
            for o in offers
        ],
        schema=OFFER_INPUT_SCHEMA,
    )
    wh.load_offers(customer.id, table, datetime.now(UTC))
    rows: int = table.num_rows
    return rows


def yesterday() -> date:
    return reporting_today() - timedelta(days=1)


def hostile_rows(day: date, prefix: str, count: int = 3) -> list[StatRow]:
    """A few ad-days whose campaign names are HTML, script, SQL and a spreadsheet formula."""
    names = [HOSTILE_CAMPAIGN, INJECTION, '=HYPERLINK("http://evil")']
    rows = []
    for index in range(count):
        views, clicks = 1000 + index, 20 + index
        cost, value = Decimal("10.00") + index, Decimal("55.50")
        rows.append(
            StatRow(
                ads_client_id="client-hostile",
                ad_type=AdType.SPONSORED_OFFER,
                campaign_id=f"{prefix}-camp-{index}",
                campaign_name=names[index % len(names)],
                ad_group_id=f"{prefix}-group-{index}",
                ad_group_name="Group",
                ad_id=f"{prefix}-ad-{index}",
                ad_name="Ad",
                offer_id=None,
                day=day,
                views=views,
                clicks=clicks,
                interest=clicks // 2,
                cost=cost,
                ctr=(Decimal(clicks) / views).quantize(Decimal("0.0001")),
                attributed_count=1,
                attributed_value=value,
                effective_cpc=(cost / clicks).quantize(Decimal("0.01")),
                rate_of_return=(value / cost).quantize(Decimal("0.01")),
            )
        )
    return rows


def load_rows(wh: Warehouse, customer_id: str, day: date, rows: list[StatRow]) -> None:
    """Replace one customer's day in the warehouse with ``rows``."""
    now = datetime.now(UTC)
    table = stat_rows_to_arrow(customer_id, rows, currency="PLN", run_id="test", fetched_at=now)
    wh.load_slice(customer_id, day, day, table, run_id="test", fetched_at=now)


def customer_with_rows(portal: PortalStack, name: str, campaign_prefix: str) -> Customer:
    """A new customer with ``hostile_rows`` loaded on the stack's last day."""
    customer = customers.create_customer(portal.control.engine, name)
    load_rows(portal.warehouse, customer.id, portal.end, hostile_rows(portal.end, campaign_prefix))
    return customer


def selection_page(
    client: Client,
    path: str,
    ids: list[str],
    start: date,
    end: date,
    extra: tuple[tuple[str, str], ...] = (),
) -> str:
    """The page ``path`` for the customers ``ids`` over [start, end] (200, or the test fails)."""
    query = [("from", start.isoformat()), ("to", end.isoformat())]
    query += [("customer", customer_id) for customer_id in ids] + list(extra)
    answer = client.get(f"{path}?{urlencode(query)}")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


class RenderCount:
    """How often a kept part of a page was rendered (not served from the kept HTML)."""

    def __init__(self) -> None:
        self.calls = 0


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> RenderCount:
    """Count the calls of ``module.name`` (a function rendering a kept part of a page)."""
    count = RenderCount()
    render = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Markup:
        count.calls += 1
        result: Markup = render(*args, **kwargs)
        return result

    monkeypatch.setattr(module, name, counted)
    return count


def text_of(html: str) -> str:
    """The page's words without markup."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
