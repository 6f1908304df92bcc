"""Drive the simulator's consent page over HTTP, as a customer's browser would.

Shared by the benchmarks and the client tests (tests/client/conftest.py loads this file):
one implementation of "log in as a seller, approve, exchange the code".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from allegro_resource.calllog import CallLogSink
from allegro_resource.models import TokenSet
from allegro_resource.oauth import OAuthClient, new_pkce
from allegro_resource.static_tokens import StaticTokenProvider

SIM_CLIENT_ID = "allegro-ads-demo"
SIM_CLIENT_SECRET = "demo-secret-not-for-production"  # noqa: S105 - the simulator's demo app
SIM_REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"


class ConsentFailed(AssertionError):
    """The consent page did not redirect back with a code."""


@dataclass
class _Form:
    action: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """Collects the first form's action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.form: _Form | None = None
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form is None:
            self.form, self._inside = _Form(action=values.get("action") or None), True
        elif tag == "input" and self._inside and self.form is not None and _is_hidden(values):
            self.form.hidden[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def _is_hidden(values: dict[str, str]) -> bool:
    return values.get("type", "text").lower() == "hidden" and bool(values.get("name"))


def sim_oauth(base_url: str, call_log: CallLogSink | None = None) -> OAuthClient:
    """An OAuth client for the simulator's demo application."""
    return OAuthClient(
        base_url, SIM_CLIENT_ID, SIM_CLIENT_SECRET, SIM_REDIRECT_URI, call_log=call_log
    )


def consent(
    oauth: OAuthClient,
    login: str,
    *,
    decision: str = "approve",
    session: requests.Session | None = None,
) -> TokenSet:
    """Log in as ``login`` on the consent page, approve, and exchange the code (with PKCE)."""
    code = authorize(oauth, login, decision=decision, session=session)
    return oauth.exchange_code(code.code, code.verifier)


@dataclass(frozen=True)
class AuthorizedCode:
    code: str
    verifier: str

    def __repr__(self) -> str:
        return "AuthorizedCode(...)"


def authorize(
    oauth: OAuthClient,
    login: str,
    *,
    decision: str = "approve",
    session: requests.Session | None = None,
) -> AuthorizedCode:
    """Walk the consent page and return the code Allegro redirects back with."""
    http = session or requests.Session()
    pkce, state = new_pkce(), secrets.token_urlsafe(16)
    url = oauth.authorization_url(state, pkce.challenge)
    page = http.get(url, timeout=10)
    page.raise_for_status()
    parser = _FormParser()
    parser.feed(page.text)
    form = parser.form or _Form()
    action = urljoin(url, form.action) if form.action else url
    fields = form.hidden | {"login": login, "decision": decision}
    answer = http.post(action, data=fields, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
    if answer.status_code != 302 or "code" not in query:
        raise ConsentFailed(f"consent for {login} answered {answer.status_code}, no code")
    if query.get("state") != [state]:
        raise ConsentFailed(f"consent for {login} came back with a different state")
    return AuthorizedCode(query["code"][0], pkce.verifier)


def consented_provider(
    base_url: str,
    logins: list[str],
    *,
    call_log: CallLogSink | None = None,
    refresh_margin_seconds: float = 60.0,
) -> StaticTokenProvider:
    """A token provider holding one consented pair per login (customer id = login)."""
    oauth = sim_oauth(base_url, call_log)
    provider = StaticTokenProvider(oauth, refresh_margin_seconds=refresh_margin_seconds)
    with requests.Session() as http:
        for login in logins:
            provider.put(login, consent(oauth, login, session=http))
    return provider


def sim_get(base_url: str, path: str) -> Any:
    """GET a simulator control endpoint (``/_sim/...``) and return its JSON."""
    response = requests.get(f"{base_url.rstrip('/')}{path}", timeout=10)
    response.raise_for_status()
    return response.json()
