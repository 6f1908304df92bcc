"""HTML and script injection through every field the portal shows: names typed by staff,
what Allegro sends back (account logins, campaign names, error texts, trace ids) and error
messages that quote the input. All of it is shown as text, escaped, on every page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import update

from allegro_resource.ads_client import StatsResult
from allegro_resource.calllog import ApiCall
from allegro_resource.errors import ApiError
from allegro_resource.models import StatRow, TokenSet
from authorize_app.portal import live_report
from control_store import agency_accounts, agency_clients, auth_links, customers, portfolios, users
from control_store.api_call_log import ControlStoreCallLog
from control_store.customers import Customer
from control_store.schema import customers as customers_table
from tests.portal.portal_helpers import (
    PASSWORD,
    Account,
    PortalStack,
    hostile_rows,
    load_rows,
    text_of,
    yesterday,
)
from tests.security.security_helpers import Browser, WSGIApp

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
EMAIL = "<script>alert(1)</script>@evil.test"  # passes the email check: no @ or space inside


@dataclass(frozen=True)
class Hostile:
    """A portfolio, customer, viewer, link, token row and API calls whose every text is markup."""

    customer: Customer
    portfolio_id: str
    viewer: Account


def _tokens() -> TokenSet:
    expires = datetime.now(UTC) + timedelta(hours=12)
    return TokenSet("ACCESS-markup-" + "x" * 20, "REFRESH-markup-" + "y" * 20, expires, "ads")


@pytest.fixture(scope="module")
def hostile(portal: PortalStack) -> Iterator[Hostile]:
    engine = portal.control.engine
    portfolio = portfolios.create_portfolio(engine, f"{SCRIPT} portfolio")
    customer = customers.create_customer(engine, f"{SCRIPT} customer", portfolio=portfolio.id)
    # What Allegro's /me and token answers would have put there.
    portal.control.tokens.save_consent(customer.id, _tokens())
    assert portal.agency is not None  # statistics (live pulls) go through an agency client
    customers.set_statistics_link(engine, customer.id, portal.agency.id, "client-markup")
    with engine.begin() as conn:
        conn.execute(
            update(customers_table)
            .where(customers_table.c.id == customer.id)
            .values(allegro_login=f"{SCRIPT} login")
        )
    portal.control.tokens.record_error(customer.id, f"{SCRIPT} refresh failed", datetime.now(UTC))
    with ControlStoreCallLog(engine) as log:
        log.record(
            ApiCall(
                "GET",
                f"/ads/{SCRIPT}",
                500,
                12,
                customer_id=customer.id,
                trace_id=f"{SCRIPT} trace",
                error=f"{SCRIPT} server error",
            )
        )
    auth_links.create_link(engine, customer.id, ttl=timedelta(hours=1), created_by=SCRIPT)
    viewer = Account(EMAIL)
    users.create_user(engine, viewer.email, PASSWORD, "viewer")
    portfolios.grant(engine, viewer.email, portfolio.id)
    day = yesterday()
    load_rows(portal.warehouse, customer.id, day, _campaign_rows(day))
    found = customers.get_customer(engine, customer.id)
    assert found is not None
    yield Hostile(found, portfolio.id, viewer)


def _campaign_rows(day: date) -> list[StatRow]:
    rows = hostile_rows(day, "markup", count=1)
    return [replace(row, campaign_name=f"{SCRIPT} campaign") for row in rows]


def assert_shown_as_text(html: str, *texts: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    for text in texts:
        assert str(escape(text)) in html, text


PAGES = [
    ("/portal/customers", ["customer", "login", "portfolio"]),
    ("/portal/customers/{id}", ["customer", "login", "portfolio", "refresh failed", "created_by"]),
    ("/portal/connections", ["customer", "login", "refresh failed"]),
    ("/portal/api-log?customer={id}", ["customer", "endpoint", "trace", "server error"]),
    ("/portal/reports?customer={id}", ["customer", "campaign"]),
    ("/portal/viewers", ["viewer", "portfolio"]),
]
TEXTS = {
    "customer": f"{SCRIPT} customer",
    "login": f"{SCRIPT} login",
    "portfolio": f"{SCRIPT} portfolio",
    "refresh failed": f"{SCRIPT} refresh failed",
    "created_by": SCRIPT,
    "endpoint": f"GET /ads/{SCRIPT}",
    "trace": f"{SCRIPT} trace",
    "server error": f"{SCRIPT} server error",
    "campaign": f"{SCRIPT} campaign",
    "viewer": EMAIL,
}


@pytest.mark.parametrize(("path", "fields"), PAGES, ids=[path for path, _ in PAGES])
def test_every_field_with_markup_is_shown_escaped_to_an_admin(
    web_app: WSGIApp, portal: PortalStack, hostile: Hostile, path: str, fields: list[str]
) -> None:
    admin = Browser(web_app, ip="192.0.2.51").sign_in(portal.admin)
    page = admin.get(path.replace("{id}", hostile.customer.id))
    assert page.status_code == 200
    assert_shown_as_text(page.get_data(as_text=True), *(TEXTS[name] for name in fields))


@pytest.mark.parametrize(
    "path",
    ["/portal/customers", "/portal/customers/{id}", "/portal/connections", "/portal/reports"],
)
def test_a_viewer_with_a_markup_email_sees_every_page_escaped(
    web_app: WSGIApp, hostile: Hostile, path: str
) -> None:
    viewer = Browser(web_app, ip="192.0.2.52").sign_in(hostile.viewer)
    page = viewer.get(path.replace("{id}", hostile.customer.id))
    assert page.status_code == 200
    assert_shown_as_text(page.get_data(as_text=True), TEXTS["customer"])


def test_an_allegro_error_in_a_live_pull_is_shown_escaped(
    web_app: WSGIApp,
    portal: PortalStack,
    hostile: Hostile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = ApiError(
        502, "/ads/statistics", [{"userMessage": f"{SCRIPT} from Allegro"}], trace_id=SCRIPT
    )

    def failing(_control: object, jobs: list[object], *_args: object) -> list[StatsResult]:
        return [StatsResult(job.customer_id, job.ads_client_id, error=error) for job in jobs]  # type: ignore[attr-defined]

    monkeypatch.setattr(live_report, "_pull", failing)
    admin = Browser(web_app, ip="192.0.2.53").sign_in(portal.admin)
    page = admin.submit(f"/portal/reports/live?customer={hostile.customer.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_shown_as_text(html, f"{SCRIPT} from Allegro", f"report Trace-Id {SCRIPT} to Allegro")


@pytest.mark.parametrize(
    ("path", "fields", "status"),
    [
        ("/portal/customers", {"name": "{dup}"}, 409),  # duplicate: the message quotes the name
        ("/portal/portfolios", {"name": "{dup_portfolio}"}, 409),
        ("/portal/viewers", {"email": SCRIPT, "password": PASSWORD}, 400),  # not an email
        ("/portal/viewers", {"email": EMAIL, "password": PASSWORD}, 409),  # exists
        ("/portal/customers", {"name": "Fine", "currency": "<b>"}, 400),
    ],
)
def test_error_messages_that_quote_the_input_show_it_escaped(
    web_app: WSGIApp,
    portal: PortalStack,
    hostile: Hostile,
    path: str,
    fields: dict[str, str],
    status: int,
) -> None:
    admin = Browser(web_app, ip="192.0.2.54").sign_in(portal.admin)
    filled = {
        name: value.replace("{dup}", hostile.customer.name).replace(
            "{dup_portfolio}", f"{SCRIPT} portfolio"
        )
        for name, value in fields.items()
    }
    answer = admin.post(path, data=filled | {"csrf_token": admin.csrf("/portal/customers")})
    assert answer.status_code == status, text_of(answer.get_data(as_text=True))
    html = answer.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>" not in html


def test_a_new_link_page_for_a_markup_customer_is_escaped(
    web_app: WSGIApp, portal: PortalStack, hostile: Hostile
) -> None:
    admin = Browser(web_app, ip="192.0.2.55").sign_in(portal.admin)
    created = admin.post(
        f"/portal/customers/{hostile.customer.id}/links",
        data={"csrf_token": admin.csrf("/portal/customers")},
    )
    assert created.status_code == 200
    assert_shown_as_text(created.get_data(as_text=True), TEXTS["customer"])


@pytest.mark.parametrize("page", ["agency-accounts", "clients", "connections"])
def test_agency_account_and_client_names_with_markup_are_shown_escaped(
    web_app: WSGIApp, portal: PortalStack, page: str
) -> None:
    engine = portal.control.engine
    name = f"{SCRIPT} agency {page}"
    agency = agency_accounts.create_agency_account(engine, name)
    listing = [("markup-client", f"{SCRIPT} client")]
    agency_clients.record_client_listing(engine, agency.id, listing, datetime.now(UTC))
    path = {
        "agency-accounts": "/portal/agency-accounts",
        "clients": f"/portal/agency-accounts/{agency.id}/clients",
        "connections": "/portal/connections",
    }[page]
    admin = Browser(web_app, ip="192.0.2.54").sign_in(portal.admin)
    shown = admin.get(path)
    assert shown.status_code == 200
    texts = [name, f"{SCRIPT} client"] if page == "clients" else [name]
    assert_shown_as_text(shown.get_data(as_text=True), *texts)
