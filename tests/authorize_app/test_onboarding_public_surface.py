"""What the public side of the web app shows and allows: consent pages only (no staff page,
no customer list, no internal id; the portal only its sign-in page), hardened headers
everywhere, redirects only to Allegro, small bodies only, and customer data escaped."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from authorize_app.app import MAX_BODY_BYTES
from tests.authorize_app.onboarding_helpers import (
    AUTHORIZE_PATH,
    CALLBACK_PATH,
    Onboarding,
    assert_nothing_stored,
    consent_over_http,
    page_text,
    sign_ins_started,
)

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def assert_hardened(response: requests.Response) -> None:
    where = f"{response.request.method} {urlsplit(response.url).path} ({response.status_code})"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, f"{name} on {where}"
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert "default-src 'self'" in policy, where


# --- no staff surface --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/customers", "/admin", "/users", "/links"])
def test_no_staff_page_or_customer_list_is_public(
    onboarding: Onboarding, http: requests.Session, path: str
) -> None:
    customer = onboarding.new_customer("Sklep Ogrodowy")

    response = http.get(onboarding.web_url + path, timeout=30)

    assert response.status_code == 404
    assert "Page not found" in page_text(response)
    assert customer.name not in response.text
    assert customer.id not in response.text


@pytest.mark.parametrize("path", ["/portal", "/portal/customers", "/portal/viewers"])
def test_the_staff_portal_shows_only_its_sign_in_page_to_a_visitor(
    onboarding: Onboarding, http: requests.Session, path: str
) -> None:
    customer = onboarding.new_customer("Sklep Ogrodowy")

    response = http.get(onboarding.web_url + path, timeout=30)

    assert urlsplit(response.url).path == "/portal/login"
    assert 'type="password"' in response.text
    assert customer.name not in response.text
    assert customer.id not in response.text


def test_consent_and_error_pages_never_show_internal_ids(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    pages = [
        http.get(issued.url, timeout=30),  # the consent page
        consent_over_http(http, issued.url, onboarding.seller_login(), decision="deny"),
        consent_over_http(http, issued.url, onboarding.seller_login()),  # connected
        http.get(issued.url, timeout=30),  # already used
        http.get(f"{onboarding.web_url}{CALLBACK_PATH}?state=x&code=y", timeout=30),
    ]

    assert [page.status_code for page in pages] == [200, 403, 200, 410, 400]
    for page in pages:
        shown = page.text + "".join(page.headers.values())
        assert customer.id not in shown
        assert issued.link.id not in shown


# --- headers, redirects, body size ------------------------------------------------------------


def test_every_response_carries_the_security_headers(
    onboarding: Onboarding, http: requests.Session
) -> None:
    issued = onboarding.new_link(onboarding.new_customer())
    web = onboarding.web_url
    responses = [
        http.get(issued.url, timeout=30),
        http.post(issued.url, allow_redirects=False, timeout=30),
        http.get(f"{web}{CALLBACK_PATH}", timeout=30),
        http.get(f"{web}/authorize/not-a-link", timeout=30),
        http.get(f"{web}/nothing-here", timeout=30),
        http.delete(issued.url, timeout=30),
        http.get(f"{web}/healthz", timeout=30),
        http.get(f"{web}/static/app.css", timeout=30),
        http.post(issued.url, data=b"x" * (MAX_BODY_BYTES + 1), timeout=30),
    ]

    assert [r.status_code for r in responses] == [200, 303, 400, 404, 404, 405, 200, 200, 413]
    for response in responses:
        assert_hardened(response)


def test_starting_a_consent_redirects_only_to_the_configured_allegro_authorize_url(
    onboarding: Onboarding, http: requests.Session
) -> None:
    issued = onboarding.new_link(onboarding.new_customer())
    evil = "https://evil.example/steal"
    query = {"next": evil, "redirect": evil, "redirect_uri": evil, "return_to": evil}

    started = http.post(issued.url, params=query, data=query, allow_redirects=False, timeout=30)

    assert started.status_code == 303
    target = urlsplit(started.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == onboarding.simulator.base_url
    assert target.path == AUTHORIZE_PATH
    assert parse_qs(target.query)["redirect_uri"] == [f"{onboarding.web_url}{CALLBACK_PATH}"]
    assert "evil.example" not in started.headers["Location"]


def oversized_chunks() -> Iterator[bytes]:
    """A body past the limit sent chunked, so without a Content-Length to check up front."""
    chunk = b"x" * 8192
    for _ in range(MAX_BODY_BYTES // len(chunk) + 1):
        yield chunk


def test_an_oversized_post_body_is_refused_before_anything_starts(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    sized = {"filler": "x" * (MAX_BODY_BYTES + 1)}

    for body in (sized, oversized_chunks()):
        refused = http.post(issued.url, data=body, allow_redirects=False, timeout=30)
        assert refused.status_code == 413

    assert sign_ins_started(onboarding.control, issued.link.id) == 0
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


# --- customer data is escaped ----------------------------------------------------------------


def test_a_customer_name_with_markup_is_shown_escaped(
    onboarding: Onboarding, http: requests.Session
) -> None:
    name = "<script>alert(1)</script> & Syn"
    issued = onboarding.new_link(onboarding.new_customer(name))

    consent_page = http.get(issued.url, timeout=30)
    connected = consent_over_http(http, issued.url, onboarding.seller_login())

    for page in (consent_page, connected):
        assert page.status_code == 200
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Syn" in page.text
        assert "<script>" not in page.text
