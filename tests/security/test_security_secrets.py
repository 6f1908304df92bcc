"""Secrets stay secret: a whole consent, a sign-in and a live pull log no token, code,
verifier, client secret, password, link token or session cookie, and the checks of CSRF
tokens and OAuth states compare in constant time."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import select

from authorize_app.portal.sessions import COOKIE_NAME, Session, csrf_matches
from control_store.schema import api_calls, oauth_states, oauth_tokens
from settings.config import ConfigError, Secret, load_settings, settings_from
from testing.simulated_consent import token_from_url
from tests.authorize_app.onboarding_helpers import (
    CALLBACK_PATH,
    STATE_COOKIE,
    Onboarding,
    callback_url,
)
from tests.portal.portal_helpers import PASSWORD, PortalStack, pull_live, sign_in
from tests.security.security_helpers import Browser, WSGIApp

SIMULATOR_LOGGERS = ("simulator",)  # the stand-in for Allegro, not product


def product_log(caplog: pytest.LogCaptureFixture, web_url: str) -> str:
    """What the product logged: urllib3's lines about the test browser's own requests to
    the web app (whose URLs carry the code by design) and the simulator's are left out."""
    server = web_url.split("://", 1)[1]
    kept = []
    for record in caplog.records:
        message = record.getMessage()
        if record.name.startswith(SIMULATOR_LOGGERS):
            continue
        if record.name.startswith("urllib3") and server in message:
            continue
        kept.append(message)
    return "\n".join(kept)


def test_a_whole_consent_logs_and_stores_no_secret_in_clear(
    onboarding: Onboarding, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)
    callback = callback_url(http, issued.url, onboarding.seller_login())
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert http.get(callback, timeout=30).status_code == 200
    stored = onboarding.control.tokens.read(customer.id)
    assert stored is not None
    secrets = {
        "access token": stored.access_token,
        "refresh token": stored.refresh_token,
        "authorization code": code,
        "client secret": onboarding.control.settings.client_secret,
        "link token": token_from_url(issued.url),
    }
    logged = product_log(caplog, onboarding.web_url)
    with onboarding.control.engine.connect() as conn:
        tables = [
            str(list(conn.execute(select(table))))
            for table in (api_calls, oauth_tokens, oauth_states)
        ]
    for what, value in secrets.items():
        assert value not in logged, f"{what} was logged"
        for table in tables:
            assert value not in table, f"{what} is stored in clear"


def test_signing_in_and_a_live_pull_log_no_password_cookie_or_token(
    portal: PortalStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with sign_in(portal, portal.admin) as http:
        cookie = str(http.cookies.get(COOKIE_NAME, path="/portal"))
        alpha = portal.north[0]
        live = pull_live(http, portal, f"customer={alpha.id}")
        assert live.status_code == 200
        assert "pulled from Allegro at" in live.text
    stored = portal.control.tokens.read(alpha.id)
    assert stored is not None
    logged = product_log(caplog, portal.url)
    for what, value in {
        "password": PASSWORD,
        "session cookie": cookie,
        "access token": stored.access_token,
        "refresh token": stored.refresh_token,
        "signing key": portal.settings.signing_secret,
    }.items():
        assert value not in logged, f"{what} was logged"


def test_csrf_tokens_and_oauth_states_are_compared_in_constant_time(
    web_app: WSGIApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[object, object]] = []
    original = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    session = Session.anonymous()
    assert csrf_matches(session, session.csrf_token)
    assert (session.csrf_token.encode(), session.csrf_token.encode()) in compared

    compared.clear()
    browser = Browser(web_app)
    browser.client.set_cookie(STATE_COOKIE, "s" * 43, domain="portal.test", path=CALLBACK_PATH)
    answer = browser.get(CALLBACK_PATH, query_string={"state": "t" * 43, "code": "c"})
    assert answer.status_code == 400
    assert (b"t" * 43, b"s" * 43) in compared


def test_production_refuses_to_start_without_real_keys_and_never_writes_dev_ones(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_ENV", "production")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    for name in (
        "ALLEGRO_ADS_CLIENT_ID",
        "ALLEGRO_ADS_CLIENT_SECRET",
        "ALLEGRO_ADS_TOKEN_KEYS",
        "ALLEGRO_ADS_SIGNING_KEY",
    ):
        assert name in str(refused.value)
    assert not (isolated_settings / "dev-secrets.json").exists()


def test_production_without_a_signing_key_serves_what_signs_no_links_and_never_makes_a_dev_key(
    isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_ENV", "production")
    monkeypatch.setenv("ALLEGRO_ADS_CLIENT_ID", "agency-app")
    monkeypatch.setenv("ALLEGRO_ADS_CLIENT_SECRET", "agency-secret")
    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", Fernet.generate_key().decode())

    settings = load_settings([Secret.CLIENT_ID, Secret.CLIENT_SECRET, Secret.TOKEN_KEYS])

    assert settings.fernet_keys
    with pytest.raises(ConfigError, match="ALLEGRO_ADS_SIGNING_KEY"):
        _ = settings.signing_secret
    with pytest.raises(ConfigError, match="ALLEGRO_ADS_TOKEN_KEYS"):
        _ = settings_from(env="production", data_dir=isolated_settings).fernet_keys
    assert not (isolated_settings / "dev-secrets.json").exists()


def test_the_dev_secrets_file_is_readable_by_its_owner_only(isolated_settings: Path) -> None:
    settings = load_settings()
    assert settings.signing_secret and settings.fernet_keys
    mode = (isolated_settings / "dev-secrets.json").stat().st_mode & 0o777
    assert mode == 0o600
