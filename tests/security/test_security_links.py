"""Consent links and the OAuth answer under attack, beyond tests/authorize_app: tokens signed
for another purpose, another customer's sign-in answer, parameters that try to name another
customer, hostile error texts, and state values that are not ASCII. Nothing is stored."""

from __future__ import annotations

import logging

import pytest
import requests
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from authorize_app.portal.sessions import SALT as SESSION_SALT
from control_store.schema import oauth_states
from services.link_signing import SALT as LINK_SALT
from services.link_signing import sign_link_id
from tests.authorize_app.onboarding_helpers import (
    CALLBACK_PATH,
    STATE_COOKIE,
    Onboarding,
    allegro_consent_page,
    assert_nothing_stored,
    callback_url,
    page_text,
    raw_token_row,
    sign_ins_started,
)
from tests.security.security_helpers import Browser, WSGIApp


def test_a_link_token_signed_with_the_real_key_for_another_purpose_is_not_a_link(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    secret = onboarding.control.settings.signing_secret
    # The same key signs portal sessions; the salt keeps one kind from passing as the other.
    as_session = URLSafeSerializer(secret, salt=SESSION_SALT).dumps(issued.link.id)
    timed = URLSafeTimedSerializer(secret, salt=LINK_SALT).dumps(issued.link.id)
    for token in (as_session, timed, sign_link_id(secret + "x", issued.link.id)):
        for method in ("GET", "POST"):
            answer = http.request(method, f"{onboarding.web_url}/authorize/{token}", timeout=30)
            assert answer.status_code == 404
            assert "This link is not valid" in page_text(answer)
    assert sign_ins_started(onboarding.control, issued.link.id) == 0
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


def test_a_link_id_guessed_without_a_signature_is_not_a_link(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    bare = http.get(f"{onboarding.web_url}/authorize/{issued.link.id}", timeout=30)
    assert bare.status_code == 404
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


def test_a_link_ignores_any_other_customer_named_in_the_query_or_form(
    onboarding: Onboarding, http: requests.Session
) -> None:
    mine, theirs = onboarding.new_customer("Sklep Mój"), onboarding.new_customer("Sklep Cudzy")
    issued = onboarding.new_link(mine)
    other = {"customer": theirs.id, "customer_id": theirs.id, "link": "x", "link_id": "x"}

    started = http.post(issued.url, params=other, data=other, allow_redirects=False, timeout=30)

    assert started.status_code == 303
    with onboarding.control.engine.connect() as conn:
        links = set(conn.execute(select(oauth_states.c.link_id)).scalars())
    assert links == {issued.link.id}  # the sign-in is bound to this link, hence this customer
    assert "Sklep Cudzy" not in http.get(issued.url, params=other, timeout=30).text


def test_another_customers_answer_from_allegro_is_refused_in_this_browser(
    onboarding: Onboarding,
) -> None:
    victim, attacker = onboarding.new_customer("Ofiara"), onboarding.new_customer("Napastnik")
    victim_link, attacker_link = onboarding.new_link(victim), onboarding.new_link(attacker)
    with requests.Session() as victim_browser, requests.Session() as attacker_browser:
        allegro_consent_page(victim_browser, victim_link.url)  # holds its own state cookie
        planted = callback_url(attacker_browser, attacker_link.url, onboarding.seller_login(3))

        answer = victim_browser.get(planted, timeout=30)

        assert answer.status_code == 400
        assert "This sign-in could not be completed" in page_text(answer)
        # The attacker's own sign-in was not used up by the victim's refused attempt.
        assert attacker_browser.get(planted, timeout=30).status_code == 200
    assert_nothing_stored(onboarding.control, victim, victim_link.link.id)
    assert raw_token_row(onboarding.control, attacker.id) is not None


def test_a_hostile_error_from_the_callback_is_not_shown_and_stores_nothing(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    allegro_consent_page(http, issued.url)
    state = http.cookies.get(STATE_COOKIE, path=CALLBACK_PATH)
    hostile = "<script>alert(1)</script>\r\nSet-Cookie: x=y"

    denied = http.get(
        f"{onboarding.web_url}{CALLBACK_PATH}",
        params={"state": state, "error": hostile, "error_description": hostile},
        timeout=30,
    )

    assert denied.status_code == 403
    assert "<script>alert(1)" not in denied.text and "alert(1)" not in page_text(denied)
    assert "x=y" not in str(denied.headers)
    assert_nothing_stored(onboarding.control, customer, issued.link.id)


def test_a_state_with_characters_outside_ascii_is_refused_not_a_crash(
    onboarding: Onboarding, web_app: WSGIApp
) -> None:
    over_http = requests.get(
        f"{onboarding.web_url}{CALLBACK_PATH}",
        params={"state": "zażółć", "code": "x"},
        cookies={STATE_COOKIE: "abc"},
        timeout=30,
    )
    assert over_http.status_code == 400
    assert "This sign-in could not be completed" in page_text(over_http)

    browser = Browser(web_app)
    browser.client.set_cookie(STATE_COOKIE, "zażółć", domain="portal.test", path=CALLBACK_PATH)
    in_process = browser.get(CALLBACK_PATH, query_string={"state": "zażółć", "code": "x"})
    assert in_process.status_code == 400


def test_a_callback_error_with_line_breaks_cannot_forge_a_log_line(
    onboarding: Onboarding, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    allegro_consent_page(http, issued.url)
    state = http.cookies.get(STATE_COOKIE, path=CALLBACK_PATH)
    caplog.set_level(logging.WARNING, logger="authorize_app")
    forged = "access_denied\n2030-01-01 INFO authorize_app customer c_x connected"

    denied = http.get(
        f"{onboarding.web_url}{CALLBACK_PATH}", params={"state": state, "error": forged}, timeout=30
    )

    assert denied.status_code == 403
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("authorize_app")]
    assert any("declined" in message for message in messages)
    assert all("\n" not in message and "\r" not in message for message in messages)
