"""Helpers of the security tests: a browser of the in-process app (chosen client address,
Host header and raw bodies) and row counts of the control store."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Engine, func, select
from werkzeug.datastructures import MultiDict
from werkzeug.test import Client, TestResponse

from control_store.schema import metadata
from tests.portal.portal_helpers import Account, csrf_of

WSGIApp = Callable[..., Iterable[bytes]]
BASE = "http://portal.test"
# What an attacker can change but never remove or rewrite: everything except the logs.
GUARDED_TABLES = (
    "portfolios",
    "customers",
    "users",
    "viewer_portfolios",
    "auth_links",
    "oauth_states",
    "oauth_tokens",
    "agency_accounts",
    "agency_clients",
)


class Browser:
    """One client (cookie jar) of the in-process app, always from the same address."""

    def __init__(self, app: WSGIApp, ip: str = "192.0.2.10", host: str = "portal.test") -> None:
        self.client = Client(app)
        self.environ = {"REMOTE_ADDR": ip}
        self.host = host  # sent as the Host header, whatever it holds

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("POST", path, **kwargs)

    def open(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {"Host": self.host, **kwargs.pop("headers", {})}
        return self.client.open(
            path,
            method=method,
            base_url=BASE,
            environ_base=self.environ,
            headers=headers,
            **kwargs,
        )

    def submit(self, path: str) -> TestResponse:
        """``path``'s query string sent as the form a portal page sends it: a POST with this
        browser's CSRF token (live pulls and their exports are forms, never links)."""
        action, _, query = path.partition("?")
        token = self.csrf("/portal/reports/live")
        fields = [*parse_qsl(query, keep_blank_values=True), ("csrf_token", token)]
        return self.post(action, data=MultiDict(fields))

    def fetch(self, path: str) -> TestResponse:
        """``path`` as the portal's pages reach it: a live pull or its export through their
        form (``submit``), anything else with a GET."""
        if path.split("?")[0].rstrip("/") == "/portal/reports/live/export":
            return self.submit(path)
        return self.get(path)

    def csrf(self, page: str = "/portal/login") -> str:
        """This browser's CSRF token, read from a page with a form."""
        return csrf_of(self.get(page).get_data(as_text=True))

    def login(self, email: str, password: str) -> TestResponse:
        """The login form, then its POST, as a browser does it."""
        token = self.csrf()
        fields = {"email": email, "password": password, "csrf_token": token}
        return self.post("/portal/login", data=fields)

    def sign_in(self, account: Account) -> Browser:
        """This browser, signed in as ``account``."""
        done = self.login(account.email, account.password)
        assert done.status_code == 303, done.get_data(as_text=True)
        return self


def row_counts(engine: Engine, tables: Iterable[str] = GUARDED_TABLES) -> dict[str, int]:
    """How many rows each control-store table holds."""
    with engine.connect() as conn:
        return {
            name: int(
                conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
            )
            for name in tables
        }


def changed(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Tables whose row count changed, with the difference."""
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}
