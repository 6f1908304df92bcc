"""What a portal handler gets: the request, the session, the signed-in user and their scope,
plus helpers to build URLs, render pages and redirect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.routing import MapAdapter
from werkzeug.utils import redirect as werkzeug_redirect
from werkzeug.wrappers import Request, Response

from authorize_app.portal.report_cache import ReportCache
from authorize_app.portal.scope import Scope
from authorize_app.portal.sessions import Session, SessionCodec
from authorize_app.web import render as render_template
from control_store.users import User
from services.control import Control
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse


class WarehouseHandle:
    """The reporting warehouse, for one request at a time: ``with handle.open() as wh: …``.

    DuckDB: a warehouse object per ``open()``; it reads on one connection and closes it at the
    end of the block (an open connection keeps other processes' loads out, so none outlives a
    request). Its schema is made (or checked) by the first ``open()`` only: later ones would
    only read the version again, a query per request. PostgreSQL: one pooled object, opened
    on first use and shared by every request.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._per_use = url.split(":", 1)[0].lower() == "duckdb"
        self._lock = threading.Lock()
        self._warehouse: Warehouse | None = None
        self._schema_checked = False

    @contextmanager
    def open(self) -> Iterator[Warehouse]:
        if self._per_use:
            with open_warehouse(self.url, schema_checked=self._schema_checked) as warehouse:
                self._schema_checked = True
                yield warehouse
            return
        with self._lock:
            if self._warehouse is None:
                self._warehouse = open_warehouse(self.url)
            shared = self._warehouse
        yield shared

    def close(self) -> None:
        with self._lock:
            if self._warehouse is not None:
                self._warehouse.close()
                self._warehouse = None


@dataclass
class Services:
    """Long-lived pieces every request shares."""

    control: Control
    codec: SessionCodec
    warehouse: WarehouseHandle
    report_cache: ReportCache = field(default_factory=ReportCache)


@dataclass
class Ctx:
    """One request as a handler sees it."""

    services: Services
    request: Request
    adapter: MapAdapter
    session: Session
    session_from_cookie: bool = False
    user: User | None = None
    new_session: Session | None = field(default=None)
    _scope: Scope | None = field(default=None, repr=False)

    @property
    def control(self) -> Control:
        return self.services.control

    @property
    def scope(self) -> Scope:
        """The signed-in user's scope (routes that need one are never reached anonymously)."""
        if self._scope is None:
            if self.user is None:
                raise RuntimeError("scope asked for on a public route")
            self._scope = Scope(self.control.engine, self.user)
        return self._scope

    @property
    def csrf_token(self) -> str:
        return (self.new_session or self.session).csrf_token

    @property
    def secure(self) -> bool:
        """Cookies are Secure when served, or published, over HTTPS."""
        public = self.control.settings.public_url.lower()
        return self.request.scheme == "https" or public.startswith("https://")

    def url(self, endpoint: str, query: Any = None, **values: Any) -> str:
        """The path of a portal route (with the mount point), optionally with a query string."""
        return self.adapter.build(endpoint, {**values, **(query or {})})

    def redirect(self, endpoint: str, **values: Any) -> Response:
        """303 See Other to a portal route (after a form POST)."""
        return werkzeug_redirect(self.url(endpoint, **values), code=303)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        """A portal page; every value is escaped by the template engine."""
        return render_template(
            f"portal/{template}",
            status=status,
            agency=self.control.settings.agency_name,
            user=self.user,
            is_admin=self.user is not None and self.user.is_admin,
            csrf_token=self.csrf_token,
            url=self.url,
            **context,
        )
