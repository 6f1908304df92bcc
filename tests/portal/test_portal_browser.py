"""The portal in real headless Chromium: an admin creates a customer and a link, a viewer
with one portfolio sees only its customers in the list, the report, the chart and the export,
and the connections board shows a consent withdrawn at Allegro as needing re-authorisation."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from control_store import customers
from tests.portal.portal_helpers import Account, PortalStack, connect

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"  # git-ignored


@pytest.fixture
def contexts(chromium: Browser) -> Iterator[list[BrowserContext]]:
    """Open browser profiles (cookies kept apart), closed after the test."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def new_page(chromium: Browser, contexts: list[BrowserContext], dialogs: list[str]) -> Page:
    """A fresh profile; any alert/confirm (e.g. injected script) is recorded and dismissed."""
    context = chromium.new_context(accept_downloads=True)
    contexts.append(context)
    page = context.new_page()

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return page


def sign_in(page: Page, stack: PortalStack, account: Account) -> None:
    page.goto(stack.portal("/login"))
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/portal/reports"))


def shown_customer_ids(page: Page, table: str) -> set[str]:
    ids = page.locator(f"#{table} tbody tr[data-customer-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.customerId)"
    )
    return set(ids)


@pytest.mark.browser
def test_admin_creates_a_customer_and_link_then_a_viewer_sees_only_their_portfolio(
    portal: PortalStack, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    dialogs: list[str] = []
    admin = new_page(chromium, contexts, dialogs)
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.url)
    sign_in(admin, portal, portal.admin)

    admin.goto(portal.portal("/customers"))
    form = admin.locator("#new-customer")
    form.locator("input[name=name]").fill("Gamma Sport")
    form.locator("select[name=portfolio]").select_option(label="North")
    form.get_by_role("button", name="Create customer").click()
    expect(admin.locator("h1")).to_have_text("Gamma Sport")
    admin.locator("#create-link").click()
    link = admin.locator("#link-url")
    expect(link).to_have_value(re.compile(re.escape(portal.url) + r"/authorize/\S+"))
    admin.get_by_role("button", name="Copy").click()
    expect(admin.get_by_role("button", name="Copied")).to_be_visible()
    assert admin.evaluate("navigator.clipboard.readText()") == link.input_value()
    admin.get_by_role("button", name="Sign out").click()
    admin.wait_for_url(re.compile(r"/portal/login"))

    viewer = new_page(chromium, contexts, dialogs)
    sign_in(viewer, portal, portal.viewer)
    gamma = customers.find_customer(portal.control.engine, "Gamma Sport")
    north = {c.id for c in portal.north} | {gamma.id}
    viewer.goto(portal.portal("/customers"))
    assert shown_customer_ids(viewer, "customers") == north
    viewer.goto(portal.portal("/reports"))
    expect(viewer.locator("#campaigns tbody tr[data-customer-id]").first).to_be_visible()
    assert shown_customer_ids(viewer, "campaigns") <= north
    assert shown_customer_ids(viewer, "freshness") == north
    chart = viewer.locator("svg#trend-chart")
    expect(chart).to_be_visible()
    assert chart.locator("polyline").count() >= 3  # cost, clicks and ROAS
    assert set(chart.locator("g.panel").evaluate_all("gs => gs.map(g => g.dataset.series)")) == {
        "Cost",
        "Clicks",
        "ROAS",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    viewer.screenshot(path=str(ARTIFACTS / "portal-report.png"), full_page=True)

    with viewer.expect_download() as download:
        viewer.locator("#export-csv").click()
    saved = download.value
    assert re.fullmatch(r"campaigns_stored_[\d-]{10}_[\d-]{10}\.csv", saved.suggested_filename)
    exported = list(csv.DictReader(io.StringIO(Path(saved.path()).read_text())))
    assert exported and {row["customer_id"] for row in exported} <= north
    assert dialogs == []  # hostile names never ran as script


@pytest.mark.browser
def test_the_connections_board_shows_a_consent_withdrawn_at_allegro_as_needing_reauth(
    portal: PortalStack, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    control = portal.control
    customer = customers.create_customer(control.engine, "Delta Zabawki", portfolio="South")
    customer = connect(control, portal.simulator, customer, portal.next_seller())
    portal.simulator.revoke(str(customer.allegro_login))
    alpha = portal.north[0]

    dialogs: list[str] = []
    page = new_page(chromium, contexts, dialogs)
    sign_in(page, portal, portal.admin)
    page.goto(portal.portal(f"/reports/live?customer={customer.id}&customer={alpha.id}"))
    expect(page.locator("#live-badge")).to_have_text("LIVE")
    error = page.locator(f"#report-errors tr[data-customer-id='{customer.id}']")
    expect(error).to_contain_text("authorise again")
    assert shown_customer_ids(page, "campaigns") == {alpha.id}  # the others still show

    page.goto(portal.portal("/connections"))
    row = page.locator(f"#connections tr[data-customer-id='{customer.id}']")
    expect(row).to_contain_text("Needs re-auth")
    expect(row).to_contain_text("invalid_grant")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "portal-connections.png"), full_page=True)
    row.get_by_role("button", name="New link").click()
    expect(page.locator("#link-url")).to_have_value(re.compile(r"/authorize/"))
