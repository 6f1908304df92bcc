"""``PortalApp``: the staff portal as one WSGI callable, mounted under ``/portal``.

Per request: read the signed session, find the user, let the route table decide who may
pass (anonymous → login or 401, viewer on an admin route → 403), run the handler, turn
errors into pages that say what to do, and set the security headers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import BadHost, Forbidden, HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from authorize_app.portal.auth import require_csrf
from authorize_app.portal.context import Ctx, Services, WarehouseHandle
from authorize_app.portal.routes import BY_ENDPOINT, URL_MAP, Access, Route
from authorize_app.portal.scope import ADMINS_ONLY
from authorize_app.portal.sessions import Session, SessionCodec, session_is_live
from authorize_app.web import StartResponse, bad_host, origin_of, security_headers
from control_store import users
from control_store.database import Conflict, NotFound
from control_store.users import User
from services.control import Control
from warehouse.stats_loader import WarehouseBusyError

log = logging.getLogger("authorize_app.portal")

MAX_BODY_BYTES = 64 * 1024  # the portal's forms are small; a bigger body is refused unread
MAX_FORM_PARTS = 100
TITLES = {
    400: "This request could not be used",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "That cannot be done",
    413: "Too much data",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Try again in a minute",
}
TOO_LARGE = f"The form is larger than {MAX_BODY_BYTES // 1024} KiB. Shorten it and send it again."


class PortalApp:
    """The staff portal over an open control store (and the configured warehouse)."""

    def __init__(self, control: Control, *, warehouse_url: str | None = None) -> None:
        settings = control.settings
        self.services = Services(
            control,
            SessionCodec(settings.signing_secret),
            WarehouseHandle(warehouse_url or settings.resolved_warehouse_url),
        )
        # "Connect agency account" posts a form that redirects to Allegro's consent page.
        self.form_targets = (origin_of(settings.auth_url),)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        request.max_form_memory_size = MAX_BODY_BYTES
        request.max_form_parts = MAX_FORM_PARTS
        response = self.respond(request)
        return security_headers(response, form_targets=self.form_targets)(environ, start_response)

    def close(self) -> None:
        self.services.warehouse.close()

    def respond(self, request: Request) -> Response:
        """The response to one request, session cookie included."""
        try:
            ctx = self._context(request)
        except BadHost:
            return bad_host()
        try:
            response = self._dispatch(ctx)
        except RequestRedirect as exc:
            return exc.get_response(request.environ)  # type: ignore[return-value]
        except HTTPException as exc:
            response = self.error_page(ctx, exc.code or 500, _message(exc))
            if "Allow" in exc.get_response().headers:  # 405 says which methods would work
                response.headers["Allow"] = exc.get_response().headers["Allow"]
        except NotFound as exc:  # a named row vanished (e.g. deleted meanwhile)
            response = self.error_page(ctx, 404, str(exc))
        except Conflict as exc:
            response = self.error_page(ctx, 409, str(exc))
        except WarehouseBusyError as exc:
            log.warning("warehouse busy: %s", exc)
            response = self.error_page(ctx, 503, "The warehouse is busy loading data. " + str(exc))
        except Exception:
            log.exception("portal error on %s %s", request.method, request.path)
            response = self.error_page(
                ctx, 500, "The error was logged. Try again; if it repeats, tell the developers."
            )
        if ctx.new_session is not None:
            path = request.script_root or "/"
            self.services.codec.write(response, ctx.new_session, secure=ctx.secure, path=path)
        return response

    def error_page(self, ctx: Ctx, status: int, message: str) -> Response:
        title = TITLES.get(status, "This request could not be used")
        return ctx.render("error.html", status=status, title=title, message=message)

    # --- internals -------------------------------------------------------------------------

    def _context(self, request: Request) -> Ctx:
        session = self.services.codec.read(request)
        from_cookie = session is not None
        session = session or Session.anonymous()
        adapter = URL_MAP.bind_to_environ(request.environ)
        user = self._user(session)
        return Ctx(self.services, request, adapter, session, from_cookie, user)

    def _user(self, session: Session) -> User | None:
        """The active user of a live session, else None (anonymous)."""
        engine = self.services.control.engine
        if session.user_id is None or not session_is_live(engine, session):
            return None
        user = users.get_user(engine, session.user_id)
        return user if user is not None and user.active else None

    def _dispatch(self, ctx: Ctx) -> Response:
        ctx.request.get_data(cache=True)  # read the body now: 413 before any handler runs
        endpoint, values = ctx.adapter.match()
        route = BY_ENDPOINT[endpoint]
        if ctx.request.method == "POST":
            require_csrf(ctx)  # every form, in one place: 403 without this session's token
        refused = self._gate(ctx, route)
        return refused if refused is not None else route.handler(ctx, **values)

    def _gate(self, ctx: Ctx, route: Route) -> Response | None:
        """None if the route may run for this visitor, else the refusal."""
        if route.access is Access.PUBLIC:
            return None
        if ctx.user is None:
            if route.api:
                return self.error_page(ctx, 401, "Sign in to the portal first, then try again.")
            here = _here(ctx.request)
            return ctx.redirect("login_form", **({"next": here} if here else {}))
        if route.access is Access.ADMIN and not ctx.user.is_admin:
            raise Forbidden(ADMINS_ONLY)
        return None


def _here(request: Request) -> str:
    """The path to come back to after signing in (GET pages only)."""
    if request.method != "GET":
        return ""
    query = request.query_string.decode("latin-1")
    path = request.script_root + request.path
    return f"{path}?{query}" if query else path


def _message(exc: HTTPException) -> str:
    if exc.code == 413:
        return TOO_LARGE
    return exc.description or "The request could not be used."
