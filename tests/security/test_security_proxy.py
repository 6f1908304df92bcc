"""``allegro-ads serve`` and forwarded headers, through the command's own waitress wiring:
without ``--trusted-proxy`` X-Forwarded-For/-Proto are ignored (throttling counts the socket's
address, a forged https does not mark cookies Secure); with it they are believed from that
proxy only, and the proxy's own entry in X-Forwarded-For is the one counted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select
from waitress.server import create_server

from allegro_ads.cli import main
from allegro_ads.commands import serve as serve_command
from authorize_app.portal.auth import MAX_FAILURES
from authorize_app.server import RunningServer
from control_store import users
from control_store.schema import login_failures
from services.control import open_control
from tests.portal.portal_helpers import PASSWORD, csrf_of

EMAIL = "proxied@agency.test"
Serve = Callable[..., RunningServer]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, cheap_password_hashing: None) -> Iterator[Serve]:
    """Run ``allegro-ads serve ARGS`` up to waitress, then serve what it configured on a free
    loopback port in a thread (the command itself would block)."""
    assert main(["db", "upgrade"]) == 0
    with open_control() as control:
        users.create_user(control.engine, EMAIL, PASSWORD, "viewer")
    started: list[RunningServer] = []

    def run(*args: str) -> RunningServer:
        captured: dict[str, Any] = {}
        monkeypatch.setattr(
            serve_command, "serve", lambda app, **options: captured.update(app=app, **options)
        )
        assert main(["serve", *args]) == 0
        options = {k: v for k, v in captured.items() if k not in ("app", "host", "port")}
        server = create_server(captured["app"], host="127.0.0.1", port=0, **options)
        port = server.socket.getsockname()[1]  # type: ignore[union-attr]
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running = RunningServer(f"http://127.0.0.1:{port}", server, thread)
        started.append(running)
        return running

    yield run
    for running in started:
        running.stop()


def session_cookie(server: RunningServer, headers: dict[str, str]) -> str:
    answer = requests.get(f"{server.url}/portal/login", headers=headers, timeout=30)
    assert answer.status_code == 200
    return answer.headers["Set-Cookie"]


def fail_logins(server: RunningServer, forwarded_for: list[str]) -> list[int]:
    """One wrong password per X-Forwarded-For value; the statuses."""
    statuses = []
    for value in forwarded_for:
        with requests.Session() as http:
            form = http.get(f"{server.url}/portal/login", timeout=30)
            fields = {
                "email": EMAIL,
                "password": "wrong-password",
                "csrf_token": csrf_of(form.text),
            }
            answer = http.post(
                f"{server.url}/portal/login",
                data=fields,
                headers={"X-Forwarded-For": value},
                allow_redirects=False,
                timeout=30,
            )
        statuses.append(answer.status_code)
    return statuses


def counted_addresses() -> set[str]:
    with open_control() as control, control.engine.connect() as conn:
        return set(conn.execute(select(login_failures.c.ip)).scalars())


def test_without_trusted_proxy_a_forged_https_does_not_mark_cookies_secure(serve: Serve) -> None:
    server = serve()
    cookie = session_cookie(server, {"X-Forwarded-Proto": "https", "Forwarded": "proto=https"})
    assert "Secure" not in cookie


def test_without_trusted_proxy_forged_addresses_are_counted_as_the_socket_address(
    serve: Serve,
) -> None:
    server = serve()
    forged = [f"203.0.113.{i}" for i in range(MAX_FAILURES + 1)]
    assert fail_logins(server, forged) == [401] * MAX_FAILURES + [429]
    assert counted_addresses() == {"127.0.0.1"}


def test_behind_the_trusted_proxy_https_marks_cookies_secure(serve: Serve) -> None:
    server = serve("--trusted-proxy", "127.0.0.1")
    assert "Secure" in session_cookie(server, {"X-Forwarded-Proto": "https"})
    assert "Secure" not in session_cookie(server, {"X-Forwarded-Proto": "http"})


def test_behind_the_trusted_proxy_the_forwarded_client_address_is_counted(serve: Serve) -> None:
    server = serve("--trusted-proxy", "127.0.0.1")
    # A client's own X-Forwarded-For comes first; the proxy appends the address it saw.
    spoofed = [f"10.0.0.{i}, 203.0.113.7" for i in range(MAX_FAILURES + 1)]
    assert fail_logins(server, spoofed) == [401] * MAX_FAILURES + [429]
    assert fail_logins(server, ["203.0.113.8"]) == [401]  # another client is not paused
    assert counted_addresses() == {"203.0.113.7", "203.0.113.8"}


def test_forwarded_headers_from_anyone_but_the_trusted_proxy_are_ignored(serve: Serve) -> None:
    server = serve("--trusted-proxy", "127.0.0.2")  # we connect from 127.0.0.1
    assert "Secure" not in session_cookie(server, {"X-Forwarded-Proto": "https"})
    assert fail_logins(server, ["203.0.113.9"]) == [401]
    assert counted_addresses() == {"127.0.0.1"}
