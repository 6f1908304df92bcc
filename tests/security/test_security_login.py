"""Signing in under attack: guessing is throttled per email and address and per address
across emails, throttling and failures never tell whether an email has an account, a
forged X-Forwarded-For does not dodge the count, and ``next`` neither leaves the portal nor
injects markup into the form."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from authorize_app.portal.auth import MAX_ADDRESS_FAILURES, MAX_FAILURES
from control_store import users
from control_store.schema import login_failures
from tests.portal.portal_helpers import PASSWORD, Account, PortalStack, text_of
from tests.security.security_helpers import Browser, WSGIApp

WRONG = "definitely-not-it"


def new_account(portal: PortalStack, email: str) -> Account:
    account = Account(email)
    users.create_user(portal.control.engine, account.email, account.password, "viewer")
    return account


def statuses(browser: Browser, email: str, password: str, times: int) -> list[int]:
    return [browser.login(email, password).status_code for _ in range(times)]


def without_times(html: str) -> str:
    """The page's words with clock times and waits blanked (they tick between requests)."""
    words = re.sub(r"\d\d:\d\d:\d\d", "HH:MM:SS", text_of(html))
    return re.sub(r"about \d+ min", "about N min", words)


def test_one_address_guessing_many_emails_is_paused_whatever_the_email(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    real = new_account(portal, "sprayed@agency.test")
    sprayer = Browser(web_app, ip="198.51.100.7")
    emails = [f"guess{i}@agency.test" for i in range(MAX_ADDRESS_FAILURES)]
    assert [sprayer.login(email, WRONG).status_code for email in emails] == [401] * len(emails)

    refused = sprayer.login(real.email, real.password)  # the right password, a fresh email

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert Browser(web_app, ip="198.51.100.8").login(real.email, real.password).status_code == 303


def test_failures_from_one_address_do_not_pause_another_address(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    account = new_account(portal, "guessed@agency.test")
    attacker = Browser(web_app, ip="198.51.100.9")
    assert statuses(attacker, account.email, WRONG, MAX_FAILURES) == [401] * MAX_FAILURES
    assert attacker.login(account.email, account.password).status_code == 429
    owner = Browser(web_app, ip="198.51.100.10")
    assert owner.login(account.email, account.password).status_code == 303


def test_an_unknown_email_fails_and_is_paused_exactly_like_a_known_one(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    known = new_account(portal, "known@agency.test")
    pages: dict[str, list[str]] = {}
    for email, ip in ((known.email, "198.51.100.11"), ("nobody@agency.test", "198.51.100.12")):
        browser = Browser(web_app, ip=ip)
        answers = [browser.login(email, WRONG) for _ in range(MAX_FAILURES + 1)]
        assert [a.status_code for a in answers] == [401] * MAX_FAILURES + [429]
        pages[email] = [
            without_times(a.get_data(as_text=True)).replace(email, "EMAIL") for a in answers
        ]
    assert pages[known.email] == pages["nobody@agency.test"]


def test_an_unknown_email_costs_one_password_hash_check_like_a_known_one(
    portal: PortalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = new_account(portal, "timed@agency.test")
    checks: list[str] = []
    real = users._hasher

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            checks.append("verify")
            return real.verify(hash, password)

    counting = Counting(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", counting)
    users._dummy_hash()  # made once per process; not part of either sign-in
    for email in (known.email, "absent@agency.test", "not an email at all"):
        checks.clear()
        assert users.authenticate(portal.control.engine, email, WRONG) is None
        assert checks == ["verify"], email


def test_a_forged_x_forwarded_for_does_not_dodge_the_count(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    account = new_account(portal, "forwarded@agency.test")
    attacker = Browser(web_app, ip="198.51.100.13")
    for i in range(MAX_FAILURES):
        forged = {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"203.0.113.{i}"}
        token = attacker.csrf()
        fields = {"email": account.email, "password": WRONG, "csrf_token": token}
        assert attacker.post("/portal/login", data=fields, headers=forged).status_code == 401
    assert attacker.login(account.email, account.password).status_code == 429
    with portal.control.engine.connect() as conn:
        recorded = set(
            conn.execute(
                select(login_failures.c.ip).where(login_failures.c.email == account.email)
            ).scalars()
        )
    assert recorded == {"198.51.100.13"}


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example",
        "/portal/\\\\evil.example",
        "/portal//evil.example",
        "https://evil.example/portal/",
        "/portal/\r\nSet-Cookie: x=y",
        "/portal/\x00",
        "javascript:alert(1)",
        "/portal" + "/a" * 1500,
    ],
)
def test_after_sign_in_next_never_leaves_the_portal(
    web_app: WSGIApp, portal: PortalStack, target: str
) -> None:
    browser = Browser(web_app, ip="198.51.100.14")
    token = browser.csrf()
    fields = {
        "email": portal.viewer.email,
        "password": PASSWORD,
        "csrf_token": token,
        "next": target,
    }
    done = browser.post("/portal/login", data=fields)
    assert done.status_code == 303
    assert done.headers["Location"] == "/portal/overview"
    assert "x=y" not in str(done.headers.getlist("Set-Cookie"))


def test_next_with_markup_is_escaped_in_the_sign_in_form(web_app: WSGIApp) -> None:
    hostile = '"><script>alert(1)</script>'
    page = Browser(web_app).get("/portal/login", query_string={"next": hostile})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert(1)" not in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_signing_in_replaces_the_session_and_its_csrf_token(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    browser = Browser(web_app, ip="198.51.100.15")
    planted = browser.csrf()  # what an attacker could have fixed in the browser beforehand
    done = browser.post(
        "/portal/login",
        data={"email": portal.viewer.email, "password": PASSWORD, "csrf_token": planted},
    )
    assert done.status_code == 303
    fresh = browser.csrf("/portal/customers")
    assert fresh != planted
    data = {"name": "Fixed Session", "csrf_token": planted}
    assert browser.post("/portal/logout", data=data).status_code == 403
    assert browser.get("/portal/customers").status_code == 200  # still signed in


def test_a_failed_sign_in_echoes_the_email_escaped(web_app: WSGIApp) -> None:
    hostile = '"><img src=x onerror=alert(1)>@x.test'
    failed = Browser(web_app, ip="198.51.100.16").login(hostile, WRONG)
    html = failed.get_data(as_text=True)
    assert failed.status_code == 401
    assert "<img src=x" not in html
    assert "Wrong email or password." in text_of(html)
