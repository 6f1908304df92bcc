"""Security of the portal over HTTP: CSRF on every form, tamper-proof sessions that end on
sign-out, login throttling kept in the control store, escaped names, filters that cannot
inject SQL, and bounded, validated input (400 or 413 with a message)."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.test import Client, TestResponse

from authorize_app.portal.app import PortalApp
from authorize_app.portal.routes import ROUTES
from authorize_app.portal.sessions import COOKIE_NAME, SALT
from control_store import customers, users
from services.control import Control
from tests.portal.portal_helpers import (
    HOSTILE_CAMPAIGN,
    HOSTILE_CUSTOMER,
    HTTP_TIMEOUT,
    INJECTION,
    PASSWORD,
    Account,
    PortalStack,
    csrf_of,
    page_csrf,
    post,
    sign_in,
    text_of,
)

POST_PATHS = [r.path for r in ROUTES if r.method == "POST"]


def fill(stack: PortalStack, path: str) -> str:
    viewer = users.find_user(stack.control.engine, stack.lonely_viewer.email)
    return (
        path.replace("<customer_id>", stack.orphan.id)
        .replace("<user_id>", viewer.id)
        .replace("<link_id>", "no-such-link")
    )


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize("token", ["", "wrong-token-" + "x" * 40], ids=["missing", "wrong"])
def test_a_form_without_this_sessions_csrf_token_is_refused(
    portal: PortalStack, admin_http: requests.Session, path: str, token: str
) -> None:
    data = {"name": "Via CSRF", "email": "csrf@agency.test", "password": PASSWORD}
    response = post(admin_http, portal.portal(fill(portal, path)), data | {"csrf_token": token})
    assert response.status_code == 403
    assert "Reload the page" in text_of(response.text)
    orphan = customers.get_customer(portal.control.engine, portal.orphan.id)
    assert orphan is not None and orphan.active


def test_another_sessions_csrf_token_is_refused(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    with sign_in(portal, portal.admin) as other:
        foreign_token = page_csrf(other, portal.portal("/customers"))
    data = {"name": "Cross Session", "csrf_token": foreign_token}
    assert post(admin_http, portal.portal("/portfolios"), data).status_code == 403


# --- sessions -------------------------------------------------------------------------------


def cookie_of(http: requests.Session) -> str:
    return str(http.cookies.get(COOKIE_NAME, path="/portal"))


def with_cookie(value: str) -> requests.Session:
    http = requests.Session()
    http.cookies.set(COOKIE_NAME, value, path="/portal")
    return http


def is_refused(stack: PortalStack, http: requests.Session) -> bool:
    page = http.get(stack.portal("/customers"), allow_redirects=False, timeout=HTTP_TIMEOUT)
    return page.status_code == 303 and page.headers["Location"].startswith("/portal/login")


def test_the_session_cookie_is_httponly_samesite_and_scoped_to_the_portal(
    portal: PortalStack,
) -> None:
    form = requests.get(portal.portal("/login"), timeout=HTTP_TIMEOUT)
    cookie = form.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    for flag in ("HttpOnly", "SameSite=Lax", "Path=/portal"):
        assert flag in cookie
    assert "Secure" not in cookie  # served over plain HTTP here; see the HTTPS test


def test_the_cookie_is_secure_over_https(portal: PortalStack) -> None:
    client = Client(PortalApp(portal.control))
    response = client.get("/login", base_url="https://portal.example/portal")
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"),  # signature
        lambda value: "x" + value[1:],  # payload
        lambda value: value.split(".")[0],  # signature removed
        lambda value: "",
        lambda value: "a" * 5000,
    ],
    ids=["signature", "payload", "unsigned", "empty", "huge"],
)
def test_a_tampered_session_cookie_is_refused(portal: PortalStack, tamper: object) -> None:
    with sign_in(portal, portal.admin) as http:
        value = cookie_of(http)
    assert callable(tamper)
    assert is_refused(portal, with_cookie(tamper(value)))


def test_a_session_forged_with_another_key_or_for_another_user_is_refused(
    portal: PortalStack,
) -> None:
    admin = users.find_user(portal.control.engine, portal.admin.email)
    with sign_in(portal, portal.viewer) as http:
        session = URLSafeTimedSerializer(portal.settings.signing_secret, salt=SALT).loads(
            cookie_of(http)
        )
    wrong_key = URLSafeTimedSerializer("not-the-key", salt=SALT)
    assert is_refused(portal, with_cookie(wrong_key.dumps(session | {"u": admin.id})))
    right_key = URLSafeTimedSerializer(portal.settings.signing_secret, salt=SALT)
    # Even correctly signed, a session row belongs to one user: a viewer's row is no admin's.
    assert is_refused(portal, with_cookie(right_key.dumps(session | {"u": admin.id})))


class ThirteenHoursAgo(TimestampSigner):
    """Signs as if it were 13 hours ago (sessions live 12)."""

    def get_timestamp(self) -> int:
        return int(time.time() - timedelta(hours=13).total_seconds())


def test_a_session_older_than_its_max_age_is_refused(portal: PortalStack) -> None:
    with sign_in(portal, portal.viewer) as http:
        value = cookie_of(http)
    secret = portal.settings.signing_secret
    data = URLSafeTimedSerializer(secret, salt=SALT).loads(value)
    expired = URLSafeTimedSerializer(secret, salt=SALT, signer=ThirteenHoursAgo).dumps(data)
    assert not is_refused(portal, with_cookie(value))
    assert is_refused(portal, with_cookie(expired))


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(portal: PortalStack) -> None:
    http = sign_in(portal, portal.viewer)
    copy = cookie_of(http)
    csrf = page_csrf(http, portal.portal("/customers"))
    done = post(http, portal.portal("/logout"), {"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["Location"] == "/portal/login"
    assert is_refused(portal, http)
    assert is_refused(portal, with_cookie(copy))  # a copied cookie died with the session


def test_after_login_only_portal_paths_are_followed(portal: PortalStack) -> None:
    http = requests.Session()
    form = http.get(portal.portal("/login"), timeout=HTTP_TIMEOUT)
    fields = {"email": portal.viewer.email, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    for target in ("//evil.example/x", "https://evil.example/", "/portal/../../x\\y"):
        done = post(http, portal.portal("/login"), fields | {"next": target})
        assert done.headers["Location"] == "/portal/overview", target
        http.cookies.clear()
        fields["csrf_token"] = csrf_of(http.get(portal.portal("/login"), timeout=HTTP_TIMEOUT).text)
    done = post(http, portal.portal("/login"), fields | {"next": "/portal/connections"})
    assert done.headers["Location"] == "/portal/connections"


# --- throttling --------------------------------------------------------------------------------


def try_login(client: Client, email: str, password: str, ip: str = "10.0.0.1") -> TestResponse:
    """One sign-in from ``ip`` through its own app instance (a worker of its own)."""
    environ = {"REMOTE_ADDR": ip}
    form = client.get("/login", base_url="http://portal.test/portal", environ_base=environ)
    token = csrf_of(form.get_data(as_text=True))
    return client.post(
        "/login",
        base_url="http://portal.test/portal",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def attempt(control: Control, email: str, password: str, ip: str = "10.0.0.1") -> int:
    return try_login(Client(PortalApp(control)), email, password, ip).status_code


def test_five_failures_lock_that_email_and_address_across_app_instances(
    portal: PortalStack,
) -> None:
    email = "throttled@agency.test"
    users.create_user(portal.control.engine, email, PASSWORD, "viewer")
    control = portal.control
    assert [attempt(control, email, "wrong password!") for _ in range(5)] == [401] * 5

    assert attempt(control, email, PASSWORD) == 429  # right password, still locked
    assert attempt(control, email, PASSWORD, ip="10.0.0.2") == 303  # another address may try
    refused = try_login(Client(PortalApp(control)), email.upper(), PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert re.search(r"Try again after \d\d:\d\d:\d\d UTC", text_of(refused.get_data(as_text=True)))


def test_a_successful_sign_in_clears_the_failures(portal: PortalStack) -> None:
    email = "forgetful@agency.test"
    users.create_user(portal.control.engine, email, PASSWORD, "viewer")
    control = portal.control
    assert [attempt(control, email, "nope-nope-nope") for _ in range(4)] == [401] * 4
    assert attempt(control, email, PASSWORD) == 303
    assert [attempt(control, email, "nope-nope-nope") for _ in range(4)] == [401] * 4
    assert attempt(control, email, PASSWORD) == 303


# --- escaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/customers", "/customers/{hostile}", "/connections", "/reports", "/api-log"]
)
def test_names_with_html_and_script_are_shown_escaped(
    portal: PortalStack, admin_http: requests.Session, path: str
) -> None:
    hostile = portal.north[1]
    page = admin_http.get(portal.portal(path.format(hostile=hostile.id)), timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    if path == "/reports":
        assert "&lt;img src=x onerror=" in page.text
        assert HOSTILE_CAMPAIGN not in page.text
        assert HOSTILE_CAMPAIGN in html.unescape(page.text)  # shown, as text


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    hostile = portal.north[1]
    export = admin_http.get(
        portal.portal(f"/reports/export?format=csv&customer={hostile.id}"), timeout=HTTP_TIMEOUT
    )
    assert export.status_code == 200
    assert "'=HYPERLINK(" in export.text
    assert ',"=HYPERLINK(' not in export.text
    assert HOSTILE_CUSTOMER in export.text  # the name itself is data, kept as it is


# --- SQL injection -------------------------------------------------------------------------------

INJECTED_FILTERS = [
    "/reports?from={x}",
    "/reports?to={x}",
    "/reports?customer={x}",
    "/reports?sort={x}",
    "/reports/live?from={x}",
    "/reports/live?customer={x}",
    "/overview?customer={x}",
    "/overview?portfolio={x}",
    "/overview?sort={x}",
    "/ad-types?customer={x}",
    "/offers?portfolio={x}",
    "/reports/export?format={x}",
    "/reports/export?format=csv&customer={x}",
    "/reports/export?format=csv&from={x}",
    "/reports/export?format=csv&sort={x}",
    "/api-log?customer={x}",
    "/api-log?status={x}",
    "/api-log?from={x}",
    "/api-log?to={x}",
    "/api-log?page={x}",
    "/customers/{x}",
]


@pytest.mark.parametrize("path", INJECTED_FILTERS)
def test_filters_cannot_inject_sql(
    portal: PortalStack, viewer_http: requests.Session, path: str
) -> None:
    url = portal.portal(path.format(x=quote(INJECTION, safe="")))
    response = viewer_http.get(url, timeout=HTTP_TIMEOUT)
    assert response.status_code in (400, 404), response.text
    assert INJECTION not in response.text  # not echoed either
    for marker in portal.foreign_markers():
        assert marker not in response.text


def test_a_name_that_looks_like_sql_is_stored_as_text(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    name = "Robert'); DROP TABLE customers; --"
    csrf = page_csrf(admin_http, portal.portal("/customers"))
    created = post(admin_http, portal.portal("/customers"), {"name": name, "csrf_token": csrf})
    assert created.status_code == 303
    assert customers.find_customer(portal.control.engine, name).name == name
    assert len(customers.list_customers(portal.control.engine)) > 1


# --- oversized and malformed input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields", "message"),
    [
        ("/customers", {"name": "x" * 201}, "Customer name is too long"),
        ("/customers", {"name": "  "}, "Customer name is required"),
        ("/customers", {"name": "Tab\there"}, "control characters"),
        ("/customers", {"name": "Okay", "currency": "PLNX"}, "Currency is too long"),
        ("/customers", {"name": "Okay", "currency": "P1N"}, "three-letter currency code"),
        ("/customers", {"name": "Okay", "portfolio": "p_forged"}, "Choose the portfolio"),
        ("/portfolios", {"name": "y" * 300}, "Portfolio name is too long"),
        ("/viewers", {"email": "not-an-email", "password": PASSWORD}, "not an email address"),
        ("/viewers", {"email": "short@agency.test", "password": "short"}, "at least 10"),
        ("/viewers", {"email": "a@b.test", "password": "p" * 2000}, "Password is too long"),
    ],
)
def test_oversized_or_malformed_form_input_gets_a_400_that_says_what_to_fix(
    portal: PortalStack,
    admin_http: requests.Session,
    path: str,
    fields: dict[str, str],
    message: str,
) -> None:
    csrf = page_csrf(admin_http, portal.portal("/customers"))
    response = post(admin_http, portal.portal(path), fields | {"csrf_token": csrf})
    assert response.status_code == 400
    assert message in text_of(response.text)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/reports?from=2025-13-45", "YYYY-MM-DD"),
        ("/reports?from=2025-03-10&to=2025-03-01", "swap the dates"),
        ("/reports?from=2010-01-01&to=2025-01-01", "choose at most"),
        ("/reports?sort=views;drop", "Sort must be one of"),
        ("/reports/export?format=xls", "Format must be one of: csv, parquet"),
        ("/api-log?page=0", "whole number"),
        ("/api-log?status=teapot", "Status must be"),
        ("/reports?" + "&".join(f"customer=c{i}" for i in range(501)), "At most 500"),
    ],
)
def test_malformed_filters_get_a_400_that_says_what_to_fix(
    portal: PortalStack, admin_http: requests.Session, path: str, message: str
) -> None:
    response = admin_http.get(portal.portal(path), timeout=HTTP_TIMEOUT)
    assert response.status_code == 400
    assert message in text_of(response.text)


def test_a_body_over_the_limit_is_refused_unread(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    csrf = page_csrf(admin_http, portal.portal("/customers"))
    big = {"name": "z" * 100_000, "csrf_token": csrf}
    response = post(admin_http, portal.portal("/customers"), big)
    assert response.status_code == 413
    assert "larger than 64 KiB" in text_of(response.text)


def test_portal_pages_carry_the_security_headers(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    for path in ("/login", "/reports", "/reports/export?format=csv"):
        headers = admin_http.get(portal.portal(path), timeout=HTTP_TIMEOUT).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"
    standalone = Client(PortalApp(portal.control)).get("/login")
    assert "script-src 'self'" in standalone.headers["Content-Security-Policy"]


def test_a_deactivated_account_is_signed_out_at_once(portal: PortalStack) -> None:
    account = Account("leaving@agency.test")
    users.create_user(portal.control.engine, account.email, account.password, "viewer")
    http = sign_in(portal, account)
    assert not is_refused(portal, http)
    users.deactivate_user(portal.control.engine, account.email)
    assert is_refused(portal, http)
