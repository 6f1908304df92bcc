"""The portal for a large agency, in real headless Chromium: 200 customers, a viewer granted
one portfolio of 40. The viewer picks the portfolio, sees only its customers, compares the
period with the previous one, reads the chart, opens the ad types and the offers, and exports;
every figure checked here is the warehouse's, summed by SQL in the test. A screenshot of each
page is saved under ``test-artifacts/screenshots/`` (git-ignored)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from control_store import portfolios, users
from services.control import Control
from testing.portal_data import BenchWarehouse, ensure_bench_warehouse
from testing.portal_server import seed_bench_customers, serve_portal
from tests.screenshots import save_screenshot
from warehouse.backends import open_warehouse
from warehouse.offers_schema import UNAVAILABLE_STATUSES

ROOT = Path(__file__).resolve().parents[2]
# The 200 customers' warehouse takes a minute or two to build; kept (git-ignored) and reused
# while it holds the same customers and days (the bench's marker file decides).
WAREHOUSE_DIR = ROOT / "data" / "test" / "agency200"
CUSTOMERS = 200
EVERY_FIFTH = 5  # the key-accounts portfolio: every fifth customer, 40 of 200, spread out
DAYS = 28  # two periods of 14 days
VIEWER = "key.accounts@agency.test"
PASSWORD = "correct horse battery"
KEY_ACCOUNTS = "Key accounts"


@dataclass(frozen=True)
class Agency:
    url: str
    built: BenchWarehouse
    key_accounts: list[str]  # the viewer's 40 customers
    portfolio_id: str

    def portal(self, path: str) -> str:
        return f"{self.url}/portal{path}"


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    """200 customers of simulated sellers over 28 days up to yesterday (the bench's loader), the
    real app served in a child process over a fresh control store, one viewer granted the 40
    key accounts."""
    folder = tmp_path_factory.mktemp("agency200")
    built = ensure_bench_warehouse(WAREHOUSE_DIR, customers=CUSTOMERS, days=DAYS)
    key_accounts = built.customer_ids[::EVERY_FIFTH]
    found: dict[str, str] = {}

    def seed(control: Control) -> None:
        engine = control.engine
        key = portfolios.create_portfolio(engine, KEY_ACCOUNTS).id
        rest = portfolios.create_portfolio(engine, "Everyone else").id
        chosen = set(key_accounts)
        portfolio_of = {c: key if c in chosen else rest for c in built.customer_ids}
        seed_bench_customers(control, built, built.customer_ids, portfolio_of)
        users.create_user(engine, VIEWER, PASSWORD, "viewer")
        portfolios.grant(engine, VIEWER, key)
        found["portfolio"] = key

    with serve_portal(folder, built.url, seed, cheap_passwords=True) as url:
        yield Agency(url, built, key_accounts, found["portfolio"])


def sql(agency: Agency, query: str, **params: object) -> list[dict[str, object]]:
    """A read of the warehouse file, closed at once (the server opens it per request)."""
    with open_warehouse(agency.built.url) as warehouse:
        rows: list[dict[str, object]] = warehouse.read(query, params).to_pylist()
        return rows


def spend_per_customer(agency: Agency, start: date, end: date) -> dict[str, Decimal]:
    rows = sql(
        agency,
        "SELECT customer_id, SUM(cost) AS cost FROM ad_daily_stats "
        "WHERE day BETWEEN $start AND $end GROUP BY customer_id",
        start=start,
        end=end,
    )
    return {str(r["customer_id"]): Decimal(str(r["cost"])) for r in rows}


def unavailable_spend(agency: Agency, start: date, end: date) -> dict[str, Decimal]:
    """Sponsored spend on ended, inactive or sold-out offers per customer, summed here from the
    facts, the ads and the offers."""
    statuses = ", ".join(f"'{s}'" for s in UNAVAILABLE_STATUSES)
    query = f"""
SELECT f.customer_id, SUM(f.cost) AS cost FROM ad_daily_stats AS f
JOIN ads AS a ON a.customer_id = f.customer_id AND a.ad_type = f.ad_type AND a.ad_id = f.ad_id
JOIN offers AS o ON o.customer_id = a.customer_id AND o.offer_id = a.offer_id
WHERE f.ad_type = 'SPONSORED_OFFER' AND f.day BETWEEN $start AND $end
  AND (o.status IN ({statuses}) OR o.stock_available = 0)
GROUP BY f.customer_id"""  # noqa: S608 - constants only
    rows = sql(agency, query, start=start, end=end)
    return {str(r["customer_id"]): Decimal(str(r["cost"])) for r in rows}


def shot(page: Page, name: str) -> None:
    save_screenshot(page, name)


def row_ids(page: Page, table: str) -> list[str]:
    ids: list[str] = page.locator(f"#{table} tbody tr[data-customer-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.customerId)"
    )
    return ids


def values(page: Page, selector: str) -> dict[str, Decimal]:
    """``data-value`` of ``selector`` (a cell) in each row, by the row's customer id."""
    pairs: list[list[str]] = page.locator(selector).evaluate_all(
        "cells => cells.map(c => [c.closest('tr').dataset.customerId, c.dataset.value])"
    )
    found: dict[str, Decimal] = {}
    for customer_id, value in pairs:
        found[customer_id] = found.get(customer_id, Decimal(0)) + Decimal(value)
    return found


@pytest.mark.browser
def test_a_viewer_of_40_among_200_picks_the_portfolio_compares_periods_and_exports(
    agency: Agency, chromium: Browser
) -> None:
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1360, "height": 900})
    try:
        page = context.new_page()
        page.goto(agency.portal("/login"))
        page.get_by_label("Email").fill(VIEWER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/portal/overview"))

        end = agency.built.last_day
        start = end - timedelta(days=13)
        before_start, before_end = start - timedelta(days=14), start - timedelta(days=1)
        key = set(agency.key_accounts)

        # Pick the portfolio and the period in the picker (labels, as a keyboard user would).
        tabs = page.get_by_role("navigation", name="Views of the selection")
        tabs.get_by_role("link", name="Overview").click()
        page.wait_for_url(re.compile(r"/portal/overview\?"))
        # Keyboard first: the first Tab reaches the skip link, and focus is visibly outlined.
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.get_by_label("From", exact=True).fill(start.isoformat())
        page.get_by_label("To", exact=True).fill(end.isoformat())
        page.get_by_label("Portfolio", exact=True).select_option(label=KEY_ACCOUNTS)
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(re.compile(r"portfolio="))
        query = parse_qs(urlsplit(page.url).query)
        assert query["portfolio"] == [agency.portfolio_id]
        assert query["from"] == [start.isoformat()] and query["to"] == [end.isoformat()]
        expect(page.locator("#selection-label")).to_contain_text("40 customers")

        # Only the portfolio's customers, and each one's spend is the warehouse's.
        assert set(row_ids(page, "overview-customers")) == key
        now = spend_per_customer(agency, start, end)
        then = spend_per_customer(agency, before_start, before_end)
        shown = values(page, "#overview-customers td[data-col=spend]")
        assert shown == {c: now.get(c, Decimal(0)) for c in key}

        # The spend tile against the previous period of the same length.
        tile = page.locator("li.kpi[data-kpi=cost]")
        current = Decimal(tile.locator(".kpi-value").get_attribute("data-value") or "")
        previous = Decimal(tile.locator(".kpi-previous").get_attribute("data-value") or "")
        assert current == sum(now[c] for c in key if c in now)
        assert previous == sum(then[c] for c in key if c in then)
        change = ((current - previous) / previous).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        expect(tile.locator(".change")).to_contain_text(f"{change * 100:+.2f} %")

        # The chart's read-out gives a day's exact figures, by keyboard as by pointer.
        page.locator("#trend-figure").focus()
        page.keyboard.press("End")
        expect(page.locator("#trend-readout")).to_contain_text(f"{end.isoformat()} vs ")
        page.locator("#trend-chart").hover(position={"x": 300, "y": 120})
        expect(page.locator("#trend-readout")).to_contain_text("(previous ")
        assert page.locator("#trend-chart g.series.previous").count() == 3
        shot(page, "overview")

        # The selection survives a bookmark: the same URL in a new tab shows the same customers.
        again = context.new_page()
        again.goto(page.url)
        assert set(row_ids(again, "overview-customers")) == key
        again.close()

        tabs.get_by_role("link", name="Ad types").click()
        page.wait_for_url(re.compile(r"/portal/ad-types\?"))
        expect(page.locator("#ad-type-panels section")).to_have_count(2)
        assert "portfolio=" in page.url
        shot(page, "ad-types")

        # Offers: the spend on unavailable offers is the warehouse's, for these customers only.
        tabs.get_by_role("link", name="Offers").click()
        page.wait_for_url(re.compile(r"/portal/offers\?"))
        assert parse_qs(urlsplit(page.url).query)["portfolio"] == [agency.portfolio_id]
        wasted = unavailable_spend(agency, start, end)
        expected = {c: wasted[c] for c in key if wasted.get(c)}
        assert expected  # the simulated sellers do spend on unavailable offers
        assert values(page, "#unavailable-spend td[data-value]") == expected
        assert set(row_ids(page, "top-offers")) <= key
        shot(page, "offers")

        # The export holds the selection's campaigns, with the warehouse's spend.
        with page.expect_download() as download:
            page.locator("#export-csv").click()
        exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        spent: dict[str, Decimal] = {}
        for row in exported:
            spent[row["customer_id"]] = spent.get(row["customer_id"], Decimal(0)) + Decimal(
                row["cost"]
            )
        assert set(spent) <= key
        assert spent == {c: v for c, v in now.items() if c in key and c in spent}
        assert set(spent) == {c for c in key if now.get(c)}

        tabs.get_by_role("link", name="Campaigns").click()
        page.wait_for_url(re.compile(r"/portal/reports\?"))
        assert set(row_ids(page, "freshness")) == key
        shot(page, "campaigns")
    finally:
        context.close()
