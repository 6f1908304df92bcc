"""Every page passes axe-core in Chromium with no serious or critical violation: each portal
page of ``page_catalogue`` as an admin and as a viewer (who gets the 403 page on admin pages,
and that page is checked too), the not-found page, the one-time link page, and the consent
pages a customer opens from their link. A screenshot of each is saved under
``test-artifacts/screenshots/`` (git-ignored), except those another browser test takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from authorize_app.portal.routes import ADMIN, ROUTES
from control_store import customers
from services.links import issue_link
from tests.browser_support.axe import AxeScript, Violation, axe_violations, failing
from tests.browser_support.axe import axe_script as install_axe
from tests.portal.page_catalogue import (
    CONSENT_PAGES,
    NOT_PAGES,
    PORTAL_PAGES,
    ROLES,
    SHOT_ELSEWHERE,
    ConsentPage,
    PortalPage,
)
from tests.portal.portal_helpers import Account, PortalStack
from tests.screenshots import save_screenshot

ADMIN_ONLY = {route.endpoint for route in ROUTES if route.access is ADMIN}
PORTAL_PAGES_BY_NAME = {page.name: page for page in PORTAL_PAGES}


@pytest.fixture(scope="session")
def axe_script() -> AxeScript:
    return install_axe()


@pytest.fixture(scope="module")
def signed_in(chromium: Browser, portal: PortalStack) -> Iterator[dict[str, Page]]:
    """A page per role (and one signed out), each in its own browser profile."""
    opened: list[BrowserContext] = []
    pages: dict[str, Page] = {}
    accounts: dict[str, Account | None] = {
        "admin": portal.admin,
        "viewer": portal.viewer,
        "anonymous": None,
    }
    for role, account in accounts.items():
        context = chromium.new_context()
        opened.append(context)
        page = context.new_page()
        if account is not None:
            _sign_in(page, portal, account)
        pages[role] = page
    yield pages
    for context in opened:
        context.close()


def _sign_in(page: Page, stack: PortalStack, account: Account) -> None:
    page.goto(stack.portal("/login"))
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/portal/overview"))


def assert_accessible(page: Page, axe_script: AxeScript, shot: str | None) -> None:
    """No serious or critical axe violation on the page as shown; its screenshot saved as
    ``shot`` (unless None: taken elsewhere)."""
    if shot is not None:
        save_screenshot(page, shot)
    found: list[Violation] = failing(axe_violations(page, axe_script))
    assert not found, f"{page.url}:\n" + "\n".join(v.describe() for v in found)


def test_every_portal_page_is_catalogued() -> None:
    pages = {route.endpoint for route in ROUTES if route.method == "GET" and not route.api}
    catalogued = {page.endpoint for page in PORTAL_PAGES}
    assert pages - NOT_PAGES - catalogued == set()


def _cases() -> list[pytest.ParameterSet]:
    cases = []
    for entry in PORTAL_PAGES:
        roles = ROLES if entry.signed_in else ("anonymous",)
        cases += [pytest.param(role, entry, id=f"{role}-{entry.name}") for role in roles]
    return cases


@pytest.mark.browser
@pytest.mark.parametrize(("role", "entry"), _cases())
def test_portal_page_has_no_serious_accessibility_violation(
    role: str,
    entry: PortalPage,
    portal: PortalStack,
    signed_in: dict[str, Page],
    axe_script: AxeScript,
) -> None:
    page = signed_in[role]
    answer = page.goto(portal.portal(entry.path(portal)))
    assert answer is not None
    refused = role == "viewer" and entry.endpoint in ADMIN_ONLY
    assert answer.status == (403 if refused else entry.status), entry.path(portal)
    shot = None if (role, entry.name) in SHOT_ELSEWHERE else f"{role}-{entry.name}"
    assert_accessible(page, axe_script, shot)


@pytest.mark.browser
@pytest.mark.parametrize("role", ROLES)
def test_not_found_page_has_no_serious_accessibility_violation(
    role: str, portal: PortalStack, signed_in: dict[str, Page], axe_script: AxeScript
) -> None:
    page = signed_in[role]
    answer = page.goto(portal.portal("/customers/no-such-customer"))
    assert answer is not None and answer.status == 404
    assert_accessible(page, axe_script, f"{role}-not-found")


@pytest.mark.browser
@pytest.mark.parametrize("role", ROLES)
def test_live_pull_page_has_no_serious_accessibility_violation(
    role: str, portal: PortalStack, signed_in: dict[str, Page], axe_script: AxeScript
) -> None:
    page = signed_in[role]
    page.goto(portal.portal(f"/reports/live?customer={portal.north[0].id}"))
    page.get_by_role("button", name="Pull from Allegro").click()
    expect(page.locator("#live-banner")).to_contain_text("pulled from Allegro at")
    assert_accessible(page, axe_script, None if role == "admin" else f"{role}-live-pulled")


@pytest.mark.browser
def test_one_time_link_page_has_no_serious_accessibility_violation(
    portal: PortalStack, signed_in: dict[str, Page], axe_script: AxeScript
) -> None:
    page = signed_in["admin"]
    page.goto(portal.portal(f"/customers/{portal.north[0].id}"))
    page.locator("#create-link").click()
    expect(page.locator("#link-url")).to_have_value(re.compile(r"/authorize/"))
    assert_accessible(page, axe_script, "admin-link-created")


@pytest.mark.browser
@pytest.mark.parametrize("entry", CONSENT_PAGES, ids=[entry.name for entry in CONSENT_PAGES])
def test_consent_page_has_no_serious_accessibility_violation(
    entry: ConsentPage, portal: PortalStack, signed_in: dict[str, Page], axe_script: AxeScript
) -> None:
    customer = customers.create_customer(portal.control.engine, f"Axe {entry.name}")
    issued = issue_link(portal.control, customer.id, created_by="accessibility-test")
    page = signed_in["anonymous"]
    page.goto(entry.url(issued.url, portal.url))
    assert_accessible(page, axe_script, entry.name)


@pytest.mark.browser
def test_consent_done_page_has_no_serious_accessibility_violation(
    portal: PortalStack, signed_in: dict[str, Page], axe_script: AxeScript
) -> None:
    seller = portal.simulator.users()[portal.next_seller()]
    customer = customers.create_customer(portal.control.engine, "Axe Connected")
    issued = issue_link(portal.control, customer.id, created_by="accessibility-test")
    page = signed_in["anonymous"]
    page.goto(issued.url)
    page.get_by_role("button", name="Continue to Allegro").click()
    page.wait_for_url(re.compile(r"/auth/oauth/authorize"))
    page.fill("input[name=login]", str(seller["login"]))
    page.fill("input[name=password]", "sim-password")
    page.get_by_role("button", name=re.compile("approve")).click()
    expect(page.locator("h1")).to_contain_text("connected")
    assert_accessible(page, axe_script, "consent-done")


@pytest.mark.browser
def test_keyboard_focus_is_visible_on_every_control_tabbed_to(
    portal: PortalStack, signed_in: dict[str, Page]
) -> None:
    page = signed_in["viewer"]
    page.goto(portal.portal(PORTAL_PAGES_BY_NAME["reports"].path(portal)))
    rings: dict[str, dict[str, Any]] = {}
    for _ in range(14):  # the header's links, sign-out, the report's modes and filters
        page.keyboard.press("Tab")
        # A date field takes several Tab stops (day, month, year, its picker); the ring is
        # judged when the field is first reached, before focus moves into its inner parts.
        ring = page.evaluate(FOCUS_RING)
        rings.setdefault(ring["key"], ring)
    assert {ring["tag"] for ring in rings.values()} >= {"A", "BUTTON", "INPUT"}
    invisible = [r for r in rings.values() if r["outline"] == "none" or r["width"] < 2]
    assert invisible == []


# The focused element (numbered on first focus) and its outline.
FOCUS_RING = """() => {
    const e = document.activeElement, s = getComputedStyle(e);
    e.dataset.focusOrder = e.dataset.focusOrder || String(document.querySelectorAll(
        '[data-focus-order]').length);
    return {key: e.dataset.focusOrder, tag: e.tagName,
            name: (e.getAttribute('name') || e.textContent || '').trim(),
            outline: s.outlineStyle, width: parseFloat(s.outlineWidth)};
}"""
