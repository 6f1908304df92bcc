"""The portal in real headless Chromium: an admin connects an agency account through Allegro's
consent page, adopts one of its clients and sends the new customer a link, the customer consents,
and the report names the customer's offers; an admin creates a customer and a link, a viewer
with one portfolio sees only its customers in the list, the report, the chart and the export;
and the connections board shows a consent withdrawn at Allegro as needing re-authorisation
while the customer's statistics (read with the agency's token) still come."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from allegro_resource.errors import NeedsReauthorization
from control_store import agency_accounts, customers
from tests.portal.portal_helpers import (
    PORTAL_ADOPTED_SELLER,
    SECOND_AGENCY_LOGIN,
    Account,
    PortalStack,
    connect,
    load_from_allegro,
    load_offers_from_allegro,
)
from tests.screenshots import save_screenshot


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
    page.wait_for_url(re.compile(r"/portal/overview"))


def shown_customer_ids(page: Page, table: str) -> set[str]:
    ids = page.locator(f"#{table} tbody tr[data-customer-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.customerId)"
    )
    return set(ids)


def approve_on_allegro(page: Page, login: str) -> None:
    """On the simulator's consent page: sign in as ``login`` and allow access."""
    page.wait_for_url(re.compile(r"/auth/oauth/authorize"))
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "sim-password")
    page.get_by_role("button", name=re.compile("approve")).click()


@pytest.mark.browser
def test_admin_connects_an_agency_adopts_a_client_and_the_report_names_its_offers(
    portal: PortalStack, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    dialogs: list[str] = []
    admin = new_page(chromium, contexts, dialogs)
    sign_in(admin, portal, portal.admin)
    admin.goto(portal.portal("/agency-accounts"))
    admin.locator("#agency-create input[name=name]").fill("Agencja Druga")
    admin.locator("#agency-create").get_by_role("button", name="Add").click()
    agency = agency_accounts.find_agency_account(portal.control.engine, "Agencja Druga")
    row = admin.locator(f"#agency-accounts tr[data-agency-account-id='{agency.id}']")
    expect(row).to_contain_text("Not connected")
    row.get_by_role("button", name="Connect").click()

    approve_on_allegro(admin, SECOND_AGENCY_LOGIN)
    admin.wait_for_url(re.compile(rf"/portal/agency-accounts/{agency.id}/clients"))
    seller = portal.simulator.users()[PORTAL_ADOPTED_SELLER]
    client = admin.locator(f"#unadopted-clients tr[data-client-id='{seller['ads_client_id']}']")
    expect(client).to_be_visible()
    client.locator("input[name=name]").fill("Epsilon Kwiaty")
    client.get_by_role("button", name="Create customer").click()
    expect(admin.locator("h1")).to_have_text("Epsilon Kwiaty")
    expect(admin.locator("#statistics-link")).to_contain_text("Agencja Druga")
    admin.locator("#create-link").click()
    link_url = admin.locator("#link-url").input_value()

    seller_page = new_page(chromium, contexts, dialogs)
    seller_page.goto(link_url)
    seller_page.get_by_role("button", name="Continue to Allegro").click()
    approve_on_allegro(seller_page, str(seller["login"]))
    expect(seller_page.locator("h1")).to_contain_text("connected")

    epsilon = customers.find_customer(portal.control.engine, "Epsilon Kwiaty")
    assert epsilon.allegro_login == seller["login"]
    load_from_allegro(portal.control, portal.warehouse, [epsilon], portal.start, portal.end)
    assert load_offers_from_allegro(portal.control, portal.warehouse, epsilon) > 0

    admin.goto(portal.portal(f"/reports?customer={epsilon.id}"))
    offers = admin.locator(f"#top-offers tr[data-customer-id='{epsilon.id}'] td.offer-name")
    expect(offers.first).to_be_visible()
    names = offers.all_inner_texts()
    sold = {o["name"] for o in _offers_of(portal, str(seller["login"]))}
    assert names and set(names) <= sold  # the sales account's offer names, as Allegro has them
    save_screenshot(admin, "portal-offers")
    assert dialogs == []


def _offers_of(portal: PortalStack, login: str) -> list[dict[str, Any]]:
    """The seller's offers as the simulator serves them (names included)."""
    return portal.simulator.offers(login)


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
    every = customers.list_customers(portal.control.engine)
    north = {c.id for c in every if c.portfolio_name == "North"}  # Gamma and other tests' too
    assert customers.find_customer(portal.control.engine, "Gamma Sport").id in north
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
    save_screenshot(viewer, "portal-report")

    with viewer.expect_download() as download:
        viewer.locator("#export-csv").click()
    saved = download.value
    assert re.fullmatch(r"campaigns_stored_[\d-]{10}_[\d-]{10}\.csv", saved.suggested_filename)
    exported = list(csv.DictReader(io.StringIO(Path(saved.path()).read_text())))
    assert exported and {row["customer_id"] for row in exported} <= north
    assert dialogs == []  # hostile names never ran as script


@pytest.mark.browser
def test_a_consent_withdrawn_at_allegro_needs_a_new_link_while_statistics_still_come(
    portal: PortalStack, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    control = portal.control
    assert portal.agency is not None
    seller = portal.next_seller()  # a client of the connected agency account
    customer = customers.create_customer(control.engine, "Delta Zabawki", portfolio="South")
    client_id = str(portal.simulator.users()[seller]["ads_client_id"])
    customers.set_statistics_link(control.engine, customer.id, portal.agency.id, client_id)
    customer = connect(control, portal.simulator, customer, seller)
    load_from_allegro(control, portal.warehouse, [customer], portal.start, portal.end)
    portal.simulator.revoke(str(customer.allegro_login))

    dialogs: list[str] = []
    page = new_page(chromium, contexts, dialogs)
    sign_in(page, portal, portal.admin)
    page.goto(portal.portal(f"/reports/live?customer={customer.id}"))
    page.get_by_role("button", name="Pull from Allegro").click()  # a POST with the CSRF token
    expect(page.locator("#live-banner")).to_contain_text("pulled from Allegro at")
    expect(page.locator("#live-badge")).to_have_text("LIVE")
    expect(page.locator("#campaigns tbody tr[data-customer-id]").first).to_be_visible()
    assert shown_customer_ids(page, "campaigns") == {customer.id}  # the agency's token reads
    assert page.locator("#report-errors").count() == 0
    with pytest.raises(NeedsReauthorization):  # the offers refresh, with the sales account
        load_offers_from_allegro(control, portal.warehouse, customer)

    page.goto(portal.portal("/connections"))
    row = page.locator(f"#connections tr[data-customer-id='{customer.id}']")
    expect(row).to_contain_text("Needs re-auth")
    expect(row).to_contain_text("invalid_grant")
    save_screenshot(page, "portal-connections")
    row.get_by_role("button", name="Send a new link").click()
    expect(page.locator("#link-url")).to_have_value(re.compile(r"/authorize/"))


@pytest.mark.browser
def test_a_live_pull_is_a_form_its_page_is_marked_live_and_it_exports(
    portal: PortalStack, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    alpha = portal.north[0]
    dialogs: list[str] = []
    page = new_page(chromium, contexts, dialogs)
    sign_in(page, portal, portal.admin)
    before = portal.simulator.stats()["requests"]
    page.goto(portal.portal(f"/reports/live?customer={alpha.id}"))
    expect(page.locator("#live-banner")).to_contain_text("nothing was pulled")
    assert portal.simulator.stats()["requests"] == before  # opening the page pulls nothing

    page.get_by_role("button", name="Pull from Allegro").click()
    expect(page.locator("#live-banner")).to_contain_text("pulled from Allegro at")
    assert shown_customer_ids(page, "campaigns") == {alpha.id}
    save_screenshot(page, "live")

    with page.expect_download() as download:
        page.locator("#live-export").get_by_role("button", name="CSV").click()
    saved = download.value
    assert re.fullmatch(r"campaigns_live_[\d-]{10}_[\d-]{10}\.csv", saved.suggested_filename)
    exported = list(csv.DictReader(io.StringIO(Path(saved.path()).read_text())))
    shown = page.locator("#campaigns tbody tr[data-campaign-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.campaignId)"
    )
    assert [row["campaign_id"] for row in exported] == shown
    assert dialogs == []
