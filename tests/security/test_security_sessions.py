"""Sessions under attack, beyond tests/portal: a signed-in viewer loses a customer the moment
its grant is revoked or the customer moves away, and cookies that are garbage, foreign or
signed for another purpose are an anonymous visitor, never an error."""

from __future__ import annotations

import itertools

import pytest
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

from authorize_app.consent import STATE_COOKIE
from authorize_app.portal.sessions import COOKIE_NAME, SALT
from control_store import customers, portfolios, users
from control_store.customers import Customer
from services.link_signing import SALT as LINK_SALT
from tests.portal.portal_helpers import Account, PortalStack
from tests.security.security_helpers import Browser, WSGIApp

_numbers = itertools.count()


def granted_viewer(portal: PortalStack) -> tuple[Account, str, Customer]:
    """A new viewer granted a new portfolio holding one new customer (this test's own)."""
    n = next(_numbers)
    engine = portal.control.engine
    portfolio = portfolios.create_portfolio(engine, f"Scoped {n}")
    customer = customers.create_customer(engine, f"Scoped Customer {n}", portfolio=portfolio.id)
    account = Account(f"scoped{n}@agency.test")
    users.create_user(engine, account.email, account.password, "viewer")
    portfolios.grant(engine, account.email, portfolio.id)
    return account, portfolio.id, customer


def sees(browser: Browser, customer: Customer) -> dict[str, int | bool]:
    """What the viewer gets for the customer: its page, its report and whether lists name it."""
    return {
        "page": browser.get(f"/portal/customers/{customer.id}").status_code,
        "report": browser.get(f"/portal/reports?customer={customer.id}").status_code,
        "export": browser.get(
            f"/portal/reports/export?format=csv&customer={customer.id}"
        ).status_code,
        "log": browser.get(f"/portal/api-log?customer={customer.id}").status_code,
        "listed": customer.name in browser.get("/portal/customers").get_data(as_text=True),
        "board": customer.name in browser.get("/portal/connections").get_data(as_text=True),
    }


VISIBLE = {"page": 200, "report": 200, "export": 200, "log": 200, "listed": True, "board": True}
GONE = {"page": 404, "report": 404, "export": 404, "log": 404, "listed": False, "board": False}


def test_a_revoked_grant_hides_the_customers_from_the_open_session_at_once(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    account, portfolio_id, customer = granted_viewer(portal)
    viewer = Browser(web_app, ip="192.0.2.31").sign_in(account)
    assert sees(viewer, customer) == VISIBLE
    admin = Browser(web_app, ip="192.0.2.32").sign_in(portal.admin)
    user = users.find_user(portal.control.engine, account.email)
    revoked = admin.post(
        f"/portal/viewers/{user.id}/revoke",
        data={"portfolio": portfolio_id, "csrf_token": admin.csrf("/portal/viewers")},
    )
    assert revoked.status_code == 303
    assert sees(viewer, customer) == GONE  # same cookie, no new sign-in


def test_a_customer_moved_out_of_the_portfolio_is_gone_from_the_open_session(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    account, _, customer = granted_viewer(portal)
    viewer = Browser(web_app, ip="192.0.2.33").sign_in(account)
    assert sees(viewer, customer) == VISIBLE
    customers.assign_portfolio(portal.control.engine, customer.id, None)
    assert sees(viewer, customer) == GONE


@pytest.mark.parametrize(
    "value",
    ["\x00", "zażółć", "..", "a.b.c.d", '"quoted"', "x" * 1025, "%ff%fe", "eyJ1IjpudWxsfQ"],
    ids=["nul", "unicode", "dots", "many-parts", "quoted", "too-long", "percent", "unsigned-json"],
)
def test_a_garbage_session_cookie_is_an_anonymous_visitor_not_an_error(
    web_app: WSGIApp, value: str
) -> None:
    browser = Browser(web_app)
    browser.client.set_cookie(COOKIE_NAME, value, domain="portal.test", path="/portal")
    page = browser.get("/portal/customers")
    assert page.status_code == 303
    assert page.headers["Location"].startswith("/portal/login")
    assert browser.get("/portal/reports/export?format=csv").status_code == 401


def test_values_signed_with_the_real_key_for_another_purpose_are_not_sessions(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    admin = users.find_user(portal.control.engine, portal.admin.email)
    secret = portal.settings.signing_secret
    session = {"u": admin.id, "s": "x" * 43, "c": "c" * 43}
    forged = [
        URLSafeSerializer(secret, salt=LINK_SALT).dumps(session),  # a consent-link signature
        URLSafeTimedSerializer(secret, salt=LINK_SALT).dumps(session),
        URLSafeTimedSerializer(secret, salt=SALT).dumps(session),  # right salt, no session row
        URLSafeTimedSerializer(secret, salt=SALT).dumps([admin.id]),  # not a session's shape
    ]
    for value in forged:
        browser = Browser(web_app)
        browser.client.set_cookie(COOKIE_NAME, value, domain="portal.test", path="/portal")
        assert browser.get("/portal/customers").status_code == 303
        assert browser.get("/portal/viewers").status_code == 303


def test_the_consent_state_cookie_is_not_a_portal_session(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    signed_in = Browser(web_app, ip="192.0.2.34").sign_in(portal.admin)
    value = signed_in.client.get_cookie(COOKIE_NAME, domain="portal.test", path="/portal")
    assert value is not None
    browser = Browser(web_app)
    browser.client.set_cookie(STATE_COOKIE, value.value, domain="portal.test", path="/portal")
    assert browser.get("/portal/customers").status_code == 303


def test_signing_out_needs_this_sessions_csrf_token(web_app: WSGIApp, portal: PortalStack) -> None:
    victim = Browser(web_app, ip="192.0.2.35").sign_in(portal.viewer)
    attacker = Browser(web_app, ip="192.0.2.36").sign_in(portal.viewer)
    refused = victim.post("/portal/logout", data={"csrf_token": attacker.csrf("/portal/customers")})
    assert refused.status_code == 403
    assert victim.get("/portal/customers").status_code == 200
