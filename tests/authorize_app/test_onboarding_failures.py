"""Every way a consent can fail ends on a plain page with the right status and stores nothing:
no tokens, no Allegro account bound, the link not used up (unless it already was)."""

from __future__ import annotations

import pytest
import requests

from control_store import auth_links, customers
from services.link_signing import link_url
from tests.authorize_app.onboarding_helpers import (
    STATE_COOKIE,
    Onboarding,
    assert_nothing_stored,
    callback_url,
    connect,
    consent_over_http,
    page_text,
    raw_token_row,
    sign_ins_started,
    the_link,
    token_rows,
)


def assert_refused(response: requests.Response, status: int, says: str) -> None:
    assert response.status_code == status, page_text(response)
    assert says in page_text(response)


# --- the link itself ---------------------------------------------------------------------


def test_a_forged_link_is_not_found_and_starts_nothing(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    forged = link_url(onboarding.web_url, "not-the-agency-key", issued.link.id)

    assert_refused(http.get(forged, timeout=30), 404, "This link is not valid")
    assert_refused(http.post(forged, timeout=30), 404, "This link is not valid")
    assert sign_ins_started(onboarding.control, issued.link.id) == 0
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


@pytest.mark.parametrize(
    "token",
    ["not-a-link", "a.b.c", "x" * 300 + ".y", "%00.%00"],
    ids=["no-signature", "too-many-parts", "too-long", "control-characters"],
)
def test_a_malformed_link_is_not_found(
    onboarding: Onboarding, http: requests.Session, token: str
) -> None:
    for method in ("GET", "POST"):
        response = http.request(method, f"{onboarding.web_url}/authorize/{token}", timeout=30)
        assert_refused(response, 404, "This link is not valid")
    assert sign_ins_started(onboarding.control) == 0
    assert token_rows(onboarding.control) == 0


def test_a_truncated_link_is_not_found(onboarding: Onboarding, http: requests.Session) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)

    assert_refused(http.get(issued.url[:-4], timeout=30), 404, "This link is not valid")
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


def test_an_expired_link_is_gone(onboarding: Onboarding, http: requests.Session) -> None:
    customer = onboarding.new_customer()
    expired = onboarding.expired_link(customer)

    assert_refused(http.get(expired.url, timeout=30), 410, "This link has expired")
    assert_refused(http.post(expired.url, timeout=30), 410, "This link has expired")
    assert sign_ins_started(onboarding.control, expired.link.id) == 0
    assert_nothing_stored(onboarding.control, customer, expired.link.id)


def test_a_used_link_is_gone_and_cannot_connect_again(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer, issued = connect(onboarding, "Sklep Ogrodowy")
    version = raw_token_row(onboarding.control, customer.id).version

    assert_refused(http.get(issued.url, timeout=30), 410, "This link was already used")
    assert_refused(http.post(issued.url, timeout=30), 410, "This link was already used")
    assert sign_ins_started(onboarding.control, issued.link.id) == 1  # the first, successful one
    assert raw_token_row(onboarding.control, customer.id).version == version


def test_a_revoked_link_is_gone(onboarding: Onboarding, http: requests.Session) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    auth_links.revoke_link(onboarding.control.engine, issued.link.id)

    assert_refused(http.get(issued.url, timeout=30), 410, "This link was withdrawn")
    assert_refused(http.post(issued.url, timeout=30), 410, "This link was withdrawn")
    assert sign_ins_started(onboarding.control, issued.link.id) == 0
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


def test_the_link_of_a_deactivated_customer_is_gone(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    customers.deactivate_customer(onboarding.control.engine, customer.id)

    assert_refused(http.get(issued.url, timeout=30), 410, "This link is no longer active")
    assert_refused(http.post(issued.url, timeout=30), 410, "This link is no longer active")
    assert sign_ins_started(onboarding.control, issued.link.id) == 0
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


# --- the answer from Allegro ---------------------------------------------------------------


def test_a_consent_denied_at_allegro_is_forbidden_and_the_link_stays_usable(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)

    denied = consent_over_http(http, issued.url, onboarding.seller_login(), decision="deny")

    assert_refused(denied, 403, "You did not allow access")
    assert_nothing_stored(onboarding.control, customer, issued.link.id)
    assert http.get(issued.url, timeout=30).status_code == 200


def test_a_replayed_callback_is_refused_without_asking_allegro_again(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    callback = callback_url(http, issued.url, onboarding.seller_login())
    state_cookie = http.cookies.get(STATE_COOKIE)
    assert state_cookie
    assert http.get(callback, timeout=30).status_code == 200
    version = raw_token_row(onboarding.control, customer.id).version
    exchanges = onboarding.simulator.stats()["requests"]["token_code"]

    # Even with the browser's own state cookie, the same answer works only once.
    replay = requests.get(callback, cookies={STATE_COOKIE: state_cookie}, timeout=30)

    assert_refused(replay, 400, "This sign-in could not be completed")
    assert onboarding.simulator.stats()["requests"]["token_code"] == exchanges
    assert raw_token_row(onboarding.control, customer.id).version == version


def test_a_callback_opened_in_another_browser_is_refused(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    callback = callback_url(http, issued.url, onboarding.seller_login())

    with requests.Session() as other_browser:  # no state cookie
        answer = other_browser.get(callback, timeout=30)

    assert_refused(answer, 400, "This sign-in could not be completed")
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


def test_allegro_down_during_the_code_exchange_is_a_bad_gateway_and_the_link_stays_usable(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    callback = callback_url(http, issued.url, onboarding.seller_login())
    onboarding.simulator.faults(include_oauth=True, fail_rate=1.0)

    down = http.get(callback, timeout=60)

    assert_refused(down, 502, "Allegro is not answering right now")
    assert "Nothing was stored" in page_text(down)
    assert_nothing_stored(onboarding.control, customer, issued.link.id)
    onboarding.simulator.faults(reset=True)
    assert consent_over_http(http, issued.url, onboarding.seller_login()).status_code == 200
    assert the_link(onboarding.control, issued.link.id).used_at is not None


def test_an_allegro_account_already_connected_to_another_customer_is_a_conflict(
    onboarding: Onboarding, http: requests.Session
) -> None:
    first, _ = connect(onboarding, "Sklep Pierwszy", seller=0)
    first_tokens = raw_token_row(onboarding.control, first.id)
    second = onboarding.new_customer("Sklep Drugi")
    issued = onboarding.new_link(second)

    same_account = consent_over_http(http, issued.url, onboarding.seller_login(0))

    assert_refused(same_account, 409, "This Allegro account is already connected")
    assert_nothing_stored(onboarding.control, second, issued.link.id)
    assert raw_token_row(onboarding.control, first.id) == first_tokens
