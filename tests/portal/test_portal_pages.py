"""What staff do in the portal, over HTTP: customers, links, portfolios and viewers; the
connections board; the API log's filters and pages; stored and live reports (totals, sort,
freshness, chart) and exports of exactly what a report shows; the bench's contract."""

from __future__ import annotations

import csv
import io
import re
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from allegro_ads.cli import main as cli_main
from authorize_app.portal.exports import safe_filename
from control_store import auth_links, customers, users
from control_store.database import write
from control_store.schema import api_calls
from tests.portal.portal_helpers import (
    HTTP_TIMEOUT,
    PASSWORD,
    Account,
    PortalStack,
    page_csrf,
    post,
    pull_live,
    sign_in,
    text_of,
    yesterday,
)
from warehouse.stats_queries import customer_summary


def table_html(page: requests.Response, table_id: str) -> str:
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page.text, re.S)
    assert found, f"no table #{table_id}"
    return found.group(0)


def row_attr(html: str, name: str) -> list[str]:
    return re.findall(rf'<tr[^>]*data-{name}="([^"]+)"', html)


def get(http: requests.Session, stack: PortalStack, path: str) -> requests.Response:
    response = http.get(stack.portal(path), timeout=HTTP_TIMEOUT, allow_redirects=False)
    assert response.status_code == 200, text_of(response.text)[:500]
    return response


def submit(
    http: requests.Session, stack: PortalStack, path: str, fields: dict[str, str]
) -> requests.Response:
    csrf = page_csrf(http, stack.portal("/customers"))
    return post(http, stack.portal(path), fields | {"csrf_token": csrf})


# --- customers, links, portfolios ----------------------------------------------------------


def test_an_admin_creates_a_customer_issues_a_link_once_and_revokes_it(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    assert submit(admin_http, portal, "/portfolios", {"name": "West"}).status_code == 303
    west = re.search(
        r'<option value="(p_\w+)">West</option>', get(admin_http, portal, "/customers").text
    )
    assert west
    created = submit(
        admin_http, portal, "/customers", {"name": "Epsilon Dom", "portfolio": west.group(1)}
    )
    assert created.status_code == 303
    customer = customers.find_customer(portal.control.engine, "Epsilon Dom")
    assert created.headers["Location"] == f"/portal/customers/{customer.id}"
    assert customer.portfolio_name == "West"

    shown = submit(admin_http, portal, f"/customers/{customer.id}/links", {})
    assert shown.status_code == 200
    url = re.search(r'id="link-url"[^>]*value="([^"]+)"', shown.text)
    assert url and url.group(1).startswith(f"{portal.url}/authorize/")
    assert "shown only once" in text_of(shown.text)
    detail = get(admin_http, portal, f"/customers/{customer.id}")
    assert url.group(1) not in detail.text and "valid" in table_html(detail, "links")

    link = auth_links.list_links(portal.control.engine, customer.id)[0]
    assert submit(admin_http, portal, f"/links/{link.id}/revoke", {}).status_code == 303
    assert "revoked" in table_html(get(admin_http, portal, f"/customers/{customer.id}"), "links")
    assert requests.get(url.group(1), timeout=HTTP_TIMEOUT).status_code == 410  # link is dead


def test_deactivating_a_customer_stops_new_links(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    customer = customers.create_customer(portal.control.engine, "Zeta Stop")
    done = submit(admin_http, portal, f"/customers/{customer.id}/deactivate", {})
    assert done.status_code == 303
    assert not customers.find_customer(portal.control.engine, customer.id).active
    refused = submit(admin_http, portal, f"/customers/{customer.id}/links", {})
    assert refused.status_code == 409
    assert "deactivated" in text_of(refused.text)


def test_moving_a_customer_between_portfolios_changes_who_sees_it(
    portal: PortalStack, admin_http: requests.Session, viewer_http: requests.Session
) -> None:
    customer = customers.create_customer(portal.control.engine, "Eta Przenosiny")
    assert customer.id not in get(viewer_http, portal, "/customers").text
    north = customers.find_customer(portal.control.engine, portal.north[0].id).portfolio_id
    assert north
    moved = submit(admin_http, portal, f"/customers/{customer.id}/portfolio", {"portfolio": north})
    assert moved.status_code == 303
    assert customer.id in get(viewer_http, portal, "/customers").text
    submit(admin_http, portal, f"/customers/{customer.id}/portfolio", {"portfolio": ""})
    assert customer.id not in get(viewer_http, portal, "/customers").text


def test_duplicate_names_are_refused_with_the_reason(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    refused = submit(admin_http, portal, "/customers", {"name": portal.north[0].name})
    assert refused.status_code == 409
    assert "already exists" in text_of(refused.text)


# --- viewers ----------------------------------------------------------------------------------


def test_an_admin_creates_a_viewer_grants_and_revokes_portfolios_and_deactivates_them(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    page = get(admin_http, portal, "/viewers").text
    north, south = (
        re.search(rf'<option value="(p_\w+)">{n}</option>', page) for n in ("North", "South")
    )
    assert north and south
    account = Account("new.viewer@agency.test")
    fields = {"email": account.email, "password": account.password, "portfolio": south.group(1)}
    assert submit(admin_http, portal, "/viewers", fields).status_code == 303
    viewer = users.find_user(portal.control.engine, account.email)
    assert viewer.role == "viewer"

    with sign_in(portal, account) as http:
        shown = row_attr(table_html(get(http, portal, "/customers"), "customers"), "customer-id")
        assert set(shown) == {c.id for c in portal.south} | _created_in(portal, "South")
        submit(admin_http, portal, f"/viewers/{viewer.id}/grant", {"portfolio": north.group(1)})
        assert portal.north[0].id in get(http, portal, "/customers").text
        submit(admin_http, portal, f"/viewers/{viewer.id}/revoke", {"portfolio": south.group(1)})
        assert portal.south[0].id not in get(http, portal, "/customers").text

        assert submit(admin_http, portal, f"/viewers/{viewer.id}/deactivate", {}).status_code == 303
        after = http.get(portal.portal("/customers"), allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert after.status_code == 303  # signed out at once
    with requests.Session() as fresh:
        form = fresh.get(portal.portal("/login"), timeout=HTTP_TIMEOUT)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        data = {"email": account.email, "password": PASSWORD, "csrf_token": token.group(1)}
        assert post(fresh, portal.portal("/login"), data).status_code == 401


def _created_in(portal: PortalStack, portfolio: str) -> set[str]:
    """Customers other tests put into ``portfolio`` (the stack is shared)."""
    every = customers.list_customers(portal.control.engine)
    known = {c.id for c in portal.south}
    return {c.id for c in every if c.portfolio_name == portfolio and c.id not in known}


def test_admins_cannot_be_managed_as_viewers(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    admin = users.find_user(portal.control.engine, portal.admin.email)
    refused = submit(admin_http, portal, f"/viewers/{admin.id}/deactivate", {})
    assert refused.status_code == 400
    assert "is an admin" in text_of(refused.text)
    assert users.find_user(portal.control.engine, portal.admin.email).active


def test_the_first_admin_comes_from_the_command_line_and_can_sign_in(
    portal: PortalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", portal.settings.resolved_control_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["users", "add", "boss@agency.test", "--role", "admin", "--password-stdin"]
    assert cli_main(argv) == 0  # what the allegro-ads console script runs
    assert "added admin boss@agency.test" in capsys.readouterr().out
    with sign_in(portal, Account("boss@agency.test")) as http:
        assert "Viewers" in get(http, portal, "/customers").text


# --- connections board -----------------------------------------------------------------------


def test_the_connections_board_shows_status_and_offers_links_only_to_admins(
    portal: PortalStack, admin_http: requests.Session, viewer_http: requests.Session
) -> None:
    alpha, hostile = portal.north
    board = table_html(get(admin_http, portal, "/connections"), "connections")
    alpha_row = re.search(rf'data-customer-id="{alpha.id}".*?</tr>', board, re.S)
    hostile_row = re.search(rf'data-customer-id="{hostile.id}".*?</tr>', board, re.S)
    assert alpha_row and "Connected" in alpha_row.group(0)
    assert "Send a new link" not in alpha_row.group(0)
    assert hostile_row and "Not connected" in hostile_row.group(0)
    assert "Send a new link" in hostile_row.group(0)
    viewer_board = table_html(get(viewer_http, portal, "/connections"), "connections")
    assert "Send a new link" not in viewer_board and "ask an admin" in viewer_board


# --- API log -------------------------------------------------------------------------------------


def _log_calls(portal: PortalStack, customer_id: str, count: int) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "ts": now - timedelta(seconds=i),
            "customer_id": customer_id,
            "method": "GET",
            "endpoint": f"/ads/clients/x/statistics/{i}",
            "status": 500 if i % 10 == 0 else 200,
            "duration_ms": 10 + i,
            "rows": i,
            "trace_id": f"trace-{i}",
            "error": "boom" if i % 10 == 0 else None,
            "attempt": 1,
        }
        for i in range(count)
    ]
    with write(portal.control.engine) as conn:
        conn.execute(api_calls.insert(), rows)


def test_the_api_log_filters_by_customer_status_and_day_and_pages(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    customer = customers.create_customer(portal.control.engine, "Theta Log")
    _log_calls(portal, customer.id, 60)
    base = f"/api-log?customer={customer.id}"
    first = get(admin_http, portal, base)
    assert table_html(first, "api-log").count("<tr>") == 50 + 1  # header + 50
    assert 'rel="next"' in first.text and "trace-0" in first.text
    second = get(admin_http, portal, base + "&page=2")
    assert table_html(second, "api-log").count("<tr>") == 10 + 1
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text

    failed = table_html(get(admin_http, portal, base + "&status=5xx"), "api-log")
    assert failed.count("boom") == 6 and "trace-1<" not in failed
    today = date.today().isoformat()
    assert "trace-5" in get(admin_http, portal, base + f"&from={today}&to={today}").text
    future = (date.today() + timedelta(days=2)).isoformat()
    assert "No calls match" in get(admin_http, portal, base + f"&from={future}").text


def test_the_api_log_shows_the_pipelines_calls_with_their_columns(
    portal: PortalStack, viewer_http: requests.Session
) -> None:
    alpha = portal.north[0]
    log = table_html(get(viewer_http, portal, f"/api-log?customer={alpha.id}&status=ok"), "api-log")
    assert f"/advertising-agencies/clients/{alpha.ads_client_id}/statistics" in log
    assert " ms<" in log


# --- stored reports ----------------------------------------------------------------------------


def report_path(portal: PortalStack, *ids: str, sort: str = "", days: int = 14) -> str:
    start = portal.end - timedelta(days=days - 1)
    query = f"from={start}&to={portal.end}" + "".join(f"&customer={i}" for i in ids)
    return query + (f"&sort={sort}" if sort else "")


def test_the_bench_contract_report_by_get_with_dates_and_repeated_customers(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    alpha, beta = portal.north[0], portal.south[0]
    both = get(admin_http, portal, "/reports?" + report_path(portal, alpha.id, beta.id))
    assert set(row_attr(table_html(both, "campaigns"), "customer-id")) == {alpha.id, beta.id}
    every = get(admin_http, portal, "/reports?" + report_path(portal))  # no customer: all
    shown = set(row_attr(table_html(every, "campaigns"), "customer-id"))
    assert {alpha.id, beta.id, portal.north[1].id, portal.orphan.id} <= shown


def test_report_totals_match_the_warehouse(
    portal: PortalStack, viewer_http: requests.Session
) -> None:
    ids = [c.id for c in portal.north]
    page = get(viewer_http, portal, "/reports?" + report_path(portal))
    summary = customer_summary(portal.warehouse, ids, portal.start, portal.end)
    cost = sum(Decimal(v) for v in summary["cost"])
    clicks = int(summary["clicks"].sum())
    totals = table_html(page, "totals")
    assert f"{cost:,.2f}".replace(",", "\u202f") in totals
    assert f"{clicks:,}".replace(",", "\u202f") in totals


@pytest.mark.parametrize("sort", ["views", "-views", "campaign", "-roas", "cost"])
def test_the_campaign_table_sorts_on_the_server(
    portal: PortalStack, admin_http: requests.Session, sort: str
) -> None:
    alpha = portal.north[0]
    page = get(admin_http, portal, "/reports?" + report_path(portal, alpha.id, sort=sort))
    campaigns = table_html(page, "campaigns")
    order = row_attr(campaigns, "campaign-id")
    exported = admin_http.get(
        portal.portal("/reports/export?format=parquet&" + report_path(portal, alpha.id, sort=sort)),
        timeout=HTTP_TIMEOUT,
    )
    table = pq.read_table(io.BytesIO(exported.content))
    assert table.column("campaign_id").to_pylist() == order  # the export keeps the page's order
    key = sort.lstrip("-")
    column = {"campaign": "campaign_name"}.get(key, key)
    values = [v for v in table.column(column).to_pylist() if v is not None]
    if key == "campaign":
        values = [v.casefold() for v in values]
    assert values == sorted(values, reverse=sort.startswith("-"))
    flipped = "-" + key if not sort.startswith("-") else key
    header = re.search(rf'href="([^"]+)" data-sort="{key}"', page.text)
    assert header and f"sort={flipped}" in header.group(1)


def test_freshness_shows_each_customers_latest_loaded_day(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    empty = customers.create_customer(portal.control.engine, "Iota Pusty")
    page = get(admin_http, portal, "/reports?" + report_path(portal, portal.north[0].id, empty.id))
    fresh = table_html(page, "freshness")
    assert yesterday().isoformat() in fresh and "nothing loaded" in fresh
    assert re.search(r'<svg[^>]*id="trend-chart"', page.text)


# --- exports --------------------------------------------------------------------------------


def test_csv_and_parquet_exports_hold_exactly_the_reports_rows(
    portal: PortalStack, viewer_http: requests.Session
) -> None:
    query = report_path(portal, sort="-clicks")
    page = get(viewer_http, portal, "/reports?" + query)
    order = row_attr(table_html(page, "campaigns"), "campaign-id")
    csv_response = viewer_http.get(portal.portal("/reports/export?format=csv&" + query), timeout=60)
    name = f"campaigns_stored_{portal.end - timedelta(days=13)}_{portal.end}.csv"
    assert csv_response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [r["campaign_id"] for r in rows] == order
    parquet = viewer_http.get(portal.portal("/reports/export?format=parquet&" + query), timeout=60)
    assert parquet.headers["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column("campaign_id").to_pylist() == order
    assert table.schema.field("cost").type == pa.decimal128(18, 2)  # money stays exact
    assert [str(v) for v in table.column("cost").to_pylist()] == [r["cost"] for r in rows]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ('a"b;c\r\nd.csv', "a_b_c_d.csv"),
        ("....", "export"),
        (
            "campaigns_stored_2025-01-01_2025-01-31.csv",
            "campaigns_stored_2025-01-01_2025-01-31.csv",
        ),
    ],
)
def test_export_filenames_are_sanitized(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


# --- live reports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (0, 0, "only up to yesterday"),  # today
        (-20, -1, "at most 14"),
        (-1, -3, "swap the dates"),
        (-800, -790, "serves statistics only from"),
    ],
)
def test_live_mode_refuses_ranges_allegro_would_refuse_and_calls_nothing(
    portal: PortalStack, admin_http: requests.Session, start: int, end: int, reason: str
) -> None:
    today = yesterday() + timedelta(days=1)
    before = portal.simulator.stats()["requests"]
    query = f"from={today + timedelta(days=start)}&to={today + timedelta(days=end)}"
    page = pull_live(admin_http, portal, query)
    assert page.status_code == 400
    assert reason in text_of(page.text) and "LIVE" in page.text
    export = pull_live(admin_http, portal, query, export="csv")
    assert export.status_code == 400 and reason in text_of(export.text)
    assert portal.simulator.stats()["requests"] == before


def test_a_live_pull_matches_the_stored_figures_and_lands_in_the_api_log(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    alpha, hostile = portal.north
    query = report_path(portal, alpha.id, hostile.id, sort="campaign", days=7)
    live = pull_live(admin_http, portal, query)
    assert live.status_code == 200, text_of(live.text)[:500]
    assert 'id="live-badge">LIVE<' in live.text
    errors = table_html(live, "report-errors")
    assert hostile.id in errors and "not linked to a client of an agency account" in errors
    stored = get(admin_http, portal, "/reports?" + query)
    live_rows = table_html(live, "campaigns")
    alphas = rf'<tr data-customer-id="{alpha.id}".*?</tr>'
    stored_rows = table_html(stored, "campaigns")
    assert re.findall(alphas, live_rows, re.S) == re.findall(alphas, stored_rows, re.S)
    assert set(row_attr(live_rows, "customer-id")) == {alpha.id}  # the others still show

    exported = pull_live(admin_http, portal, query, export="csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["campaign_id"] for r in rows if not r["error"]] == row_attr(live_rows, "campaign-id")
    assert [r["customer_id"] for r in rows if r["error"]] == [hostile.id]
    log = get(admin_http, portal, f"/api-log?customer={alpha.id}").text
    assert f"/advertising-agencies/clients/{alpha.ads_client_id}/statistics" in log


def test_the_campaign_table_pages_while_the_export_keeps_every_row(
    portal: PortalStack, admin_http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from authorize_app.portal import reports_pages

    monkeypatch.setattr(reports_pages, "PAGE_SIZE", 2)
    path = report_path(portal, portal.north[0].id, sort="campaign")
    exported = admin_http.get(
        portal.portal("/reports/export?format=parquet&" + path), timeout=HTTP_TIMEOUT
    )
    every = pq.read_table(io.BytesIO(exported.content)).column("campaign_id").to_pylist()
    assert len(every) > 2

    shown: list[str] = []
    url: str | None = "/reports?" + path
    while url:
        page = get(admin_http, portal, url)
        rows = row_attr(table_html(page, "campaigns"), "campaign-id")
        assert 1 <= len(rows) <= 2
        shown += rows
        found = re.search(r'href="/portal(/reports\?[^"]+)" id="page-next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert shown == every


def test_a_page_number_that_is_not_a_number_is_a_400(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    answer = admin_http.get(
        portal.portal("/reports?page=x&" + report_path(portal)), timeout=HTTP_TIMEOUT
    )
    assert answer.status_code == 400 and "Page must be" in answer.text
