"""Drive the simulator's consent over HTTP, as a customer's browser or an agency admin would.

Shared by the benchmarks and the client tests: one implementation of "log in as a seller,
approve, exchange the code" (code flow with PKCE) and of "connect the agency account" (device
flow confirmed through ``/_sim/device/confirm``, or the code flow).
"""

from __future__ import annotations

import multiprocessing
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from allegro_resource.calllog import CallLogSink
from allegro_resource.models import TokenSet
from allegro_resource.oauth import OAuthClient, new_pkce
from allegro_resource.static_tokens import StaticTokenProvider
from simulator.browser import answer_consent_page
from simulator.remote import SimulatorControl
from simulator.server import start_simulator
from simulator.state import SimulatorConfig

SIM_CLIENT_ID = "allegro-ads-demo"
SIM_CLIENT_SECRET = "demo-secret-not-for-production"
SIM_REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
SIM_AGENCY_LOGIN = "agency"
AGENCY_ACCOUNT_ID = "ag_sim"  # the id tests and benchmarks give the simulator's agency account


class ConsentFailed(AssertionError):
    """The consent page did not redirect back with a code."""


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
    scope: str | None = None,
    public_client: bool = False,
) -> TokenSet:
    """Log in as ``login`` on the consent page, approve, and exchange the code (with PKCE;
    ``public_client``: without Basic auth). ``scope``: None asks for every registered one."""
    code = authorize(oauth, login, decision=decision, session=session, scope=scope)
    return oauth.exchange_code(code.code, code.verifier, public_client=public_client)


def device_consent(
    oauth: OAuthClient,
    base_url: str,
    login: str = SIM_AGENCY_LOGIN,
    *,
    scope: str | None = None,
    decision: str = "approve",
) -> TokenSet:
    """Connect ``login`` through the device flow, the user's confirmation given on
    ``/_sim/device/confirm`` (as ``allegro-ads agency connect`` would wait for it)."""
    started = oauth.start_device_flow(scope)
    control = SimulatorControl(base_url)
    try:
        control.confirm_device(started.user_code, login, decision)
    finally:
        control.close()
    tokens = oauth.poll_device_token(started.device_code)
    if tokens is None:
        raise ConsentFailed(f"the device flow of {login} was still pending after confirmation")
    return tokens


@dataclass(frozen=True)
class AuthorizedCode:
    """The code from the redirect and the PKCE verifier to exchange it with."""

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
    scope: str | None = None,
) -> AuthorizedCode:
    """Walk the consent page and return the code Allegro redirects back with."""
    pkce, state = new_pkce(), secrets.token_urlsafe(16)
    url = oauth.authorization_url(state, pkce.challenge, scope=scope)
    with _session(session) as http:
        page = http.get(url, timeout=10)
        page.raise_for_status()
        answer = answer_consent_page(http, page, login, decision, follow_redirects=False)
    query = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
    if answer.status_code != 302 or "code" not in query:
        raise ConsentFailed(f"consent for {login} answered {answer.status_code}, no code")
    if query.get("state") != [state]:
        raise ConsentFailed(f"consent for {login} came back with a different state")
    return AuthorizedCode(query["code"][0], pkce.verifier)


@contextmanager
def _session(given: requests.Session | None) -> Iterator[requests.Session]:
    """``given`` as is, or a new session closed afterwards."""
    if given is not None:
        yield given
        return
    with requests.Session() as http:
        yield http


def consented_provider(
    base_url: str,
    logins: list[str],
    *,
    call_log: CallLogSink | None = None,
    refresh_margin_seconds: float = 60.0,
    scope: str | None = None,
    agency: bool = False,
) -> StaticTokenProvider:
    """A token provider holding one consented pair per login (customer id = login); with
    ``agency`` also the agency account's pair (device flow) as ``AGENCY_ACCOUNT_ID``."""
    oauth = sim_oauth(base_url, call_log)
    provider = StaticTokenProvider(oauth, refresh_margin_seconds=refresh_margin_seconds)
    with requests.Session() as http:
        for login in logins:
            provider.put(login, consent(oauth, login, session=http, scope=scope))
    if agency:
        provider.put(AGENCY_ACCOUNT_ID, device_consent(oauth, base_url))
    return provider


def sim_get(base_url: str, path: str) -> Any:
    """GET a simulator control endpoint (``/_sim/...``) and return its JSON."""
    response = requests.get(f"{base_url.rstrip('/')}{path}", timeout=10)
    response.raise_for_status()
    return response.json()


# --- a simulator for benchmarks: in this process or a child one ------------------


class BenchSimulator(SimulatorControl):
    """A started simulator, driven over HTTP only (so both modes behave the same)."""

    def __init__(self, base_url: str, stop: Callable[[], None]) -> None:
        super().__init__(base_url)
        self.stop = stop

    def sellers(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` sellers."""
        return self.users()[:count]


def _serve_in_child(options: dict[str, Any], conn: Connection) -> None:
    running = start_simulator(SimulatorConfig(**options))
    conn.send(running.base_url)
    conn.recv()  # any message: stop
    running.stop()


def start_bench_simulator(mode: str, options: dict[str, Any]) -> BenchSimulator:
    """A simulator in a thread of this process (``thread``) or in a child process."""
    if mode == "thread":
        running = start_simulator(SimulatorConfig(**options))
        return BenchSimulator(running.base_url, running.stop)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_in_child, args=(options, theirs), daemon=True)
    child.start()
    base_url = ours.recv()

    def stop() -> None:
        ours.send("stop")
        child.join(timeout=10)

    return BenchSimulator(base_url, stop)
