"""Customer onboarding end to end, as staff and a customer really do it: the CLI issues the
link, the customer opens it in Chromium, consents on (simulated) Allegro, and staff see the
connection; the tokens rest encrypted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.authorize_app.onboarding_helpers import (
    AUTHORIZE_PATH,
    CALLBACK_PATH,
    Onboarding,
    login_seen_by_api,
    raw_token_row,
    run_cli,
    table_row,
)
from tests.screenshots import save_screenshot

FERNET_PREFIX = "gAAAAA"  # every Fernet token starts with version byte 0x80, base64


def issue_link_with_cli(customer: str, cwd: Path) -> str:
    """``allegro-ads links create CUSTOMER`` → the URL it prints (its first line)."""
    printed = run_cli("links", "create", customer, cwd=cwd)
    url = printed.splitlines()[0].strip()
    assert url.startswith("http"), printed
    return url


def consent_in_browser(page: Page, onboarding: Onboarding, link_url: str, login: str) -> None:
    """Open the link, continue to Allegro, sign in as ``login`` and approve."""
    page.goto(link_url)
    page.get_by_role("button", name="Continue to Allegro").click()
    page.wait_for_url(re.compile(re.escape(onboarding.simulator.base_url + AUTHORIZE_PATH)))
    page.fill("input[name=login]", login)
    page.get_by_role("button", name=re.compile("approve")).click()
    page.wait_for_url(re.compile(re.escape(onboarding.web_url + CALLBACK_PATH)))


@pytest.mark.browser
def test_a_customer_connects_in_a_real_browser_from_a_cli_link_and_tokens_rest_encrypted(
    onboarding: Onboarding, page: Page, tmp_path: Path
) -> None:
    customer = onboarding.new_customer("Sklep Ogrodowy")
    login = onboarding.seller_login()
    link_url = issue_link_with_cli(customer.name, cwd=tmp_path)

    consent_in_browser(page, onboarding, link_url, login)

    expect(page.locator("h1")).to_contain_text("connected")
    expect(page.locator("main")).to_contain_text(login)
    save_screenshot(page, "consent-success")

    status = table_row(run_cli("tokens", "status", cwd=tmp_path), customer.name)
    assert status[1:4] == ["sales", login, "connected"]

    plaintext = onboarding.control.tokens.read(customer.id)
    assert plaintext is not None
    assert login_seen_by_api(onboarding.control, customer.id) == login  # the stored pair works
    raw = raw_token_row(onboarding.control, customer.id)
    for stored, secret in (
        (raw.access_token_enc, plaintext.access_token),
        (raw.refresh_token_enc, plaintext.refresh_token),
    ):
        assert stored.startswith(FERNET_PREFIX)
        assert secret not in stored
