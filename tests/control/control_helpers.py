"""Helpers for the control-store tests: fake and real tokens (the simulator's consent page
driven over HTTP, as a browser would), and the worker the multi-process tests spawn."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from allegro_resource.errors import InvalidGrant
from allegro_resource.models import TokenSet
from allegro_resource.oauth import OAuthClient, new_pkce

SIM_CLIENT_ID = "allegro-ads-demo"
SIM_CLIENT_SECRET = "demo-secret-not-for-production"
SIM_REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
ME_ACCEPT = "application/vnd.allegro.public.v1+json"


def fake_tokens(tag: str, expires_in: timedelta = timedelta(hours=12)) -> TokenSet:
    """A recognisable token pair (no Allegro involved)."""
    return TokenSet(
        access_token=f"ACCESS-{tag}-{'x' * 20}",
        refresh_token=f"REFRESH-{tag}-{'y' * 20}",
        expires_at=datetime.now(UTC) + expires_in,
        scope="allegro:api:ads",
    )


class ScriptedOAuth:
    """Refreshes like Allegro: a new pair each time, the old refresh token dies."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.valid_refresh: dict[str, str] = {}  # refresh token -> customer
        self.calls = 0
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()

    def register(self, customer_id: str, tokens: TokenSet) -> TokenSet:
        self.valid_refresh[tokens.refresh_token] = customer_id
        return tokens

    def refresh(self, refresh_token: str, *, customer_id: str | None = None) -> TokenSet:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            owner = self.valid_refresh.pop(refresh_token, None)
        if owner is None:
            raise InvalidGrant("refresh token already used or revoked")
        return self.register(owner, fake_tokens(f"r{n}"))


# --- the simulator's consent page, as a browser would use it ---------------------


class _FormParser(HTMLParser):
    """The first form's action and its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self._forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._forms += 1
            if self._forms == 1:
                self.action = values.get("action") or None
        elif (
            tag == "input"
            and self._forms == 1
            and values.get("type", "").lower() == "hidden"
            and values.get("name")
        ):
            self.hidden[values["name"]] = values.get("value", "")


def approve(authorize_url: str, login: str, decision: str = "approve") -> tuple[str, str]:
    """Open the consent page, log in as ``login`` and decide; returns (code, state)."""
    with requests.Session() as http:
        page = http.get(authorize_url, timeout=10)
        page.raise_for_status()
        form = _FormParser()
        form.feed(page.text)
        action = urljoin(authorize_url, form.action) if form.action else authorize_url
        answer = http.post(
            action,
            data=form.hidden | {"login": login, "decision": decision},
            allow_redirects=False,
            timeout=10,
        )
    assert answer.status_code == 302, f"consent page answered {answer.status_code}"
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    return query["code"][0], query["state"][0]


def sim_oauth(base_url: str) -> OAuthClient:
    return OAuthClient(base_url, SIM_CLIENT_ID, SIM_CLIENT_SECRET, SIM_REDIRECT_URI, timeout=10)


def consent(base_url: str, login: str) -> TokenSet:
    """Real tokens for ``login`` from the simulator (authorization code + PKCE)."""
    oauth = sim_oauth(base_url)
    pkce = new_pkce()
    code, _state = approve(oauth.authorization_url("test-state", pkce.challenge), login)
    try:
        return oauth.exchange_code(code, pkce.verifier)
    finally:
        oauth.close()


def me_status(base_url: str, access_token: str) -> int:
    """The status of GET /me with this token (200 = the token works)."""
    answer = requests.get(
        f"{base_url.rstrip('/')}/me",
        headers={"Authorization": f"Bearer {access_token}", "Accept": ME_ACCEPT},
        timeout=10,
    )
    return answer.status_code


def token_worker(
    url: str,
    keys: list[str],
    base_url: str,
    customer_id: str,
    margin_seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    """One process of the concurrency test: wait for the others, ask for the token, use it."""
    from allegro_resource.token_manager import TokenManager
    from control_store.database import make_engine
    from control_store.token_store import TokenStore

    engine = make_engine(url)
    oauth = sim_oauth(base_url)
    try:
        with engine.connect():  # connect before the barrier: the race is about the lock
            pass
        manager = TokenManager(
            TokenStore(engine, keys), oauth, refresh_margin_seconds=margin_seconds
        )
        barrier.wait(timeout=120)
        token = manager.access_token(customer_id)
        digest = hashlib.sha256(token.encode()).hexdigest()
        results.put(("ok", digest, me_status(base_url, token)))
    except Exception as exc:
        results.put(("error", type(exc).__name__, str(exc)))
    finally:
        oauth.close()
        engine.dispose()
