"""Signing in and out, and login throttling kept in the control store (so it holds across
processes and workers): 5 failures per email and address within 15 minutes lock that pair
out until the oldest of them is 15 minutes old; 20 failures from one address, whatever the
emails, lock that address out the same way (one password tried against many accounts)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select
from werkzeug.exceptions import Forbidden
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import password_field, text_field
from authorize_app.portal.sessions import Session, csrf_matches, end_session, start_session
from control_store import users
from control_store.database import write
from control_store.schema import login_failures

log = logging.getLogger("authorize_app.portal.auth")

MAX_FAILURES = 5
MAX_ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=15)
KEEP_FAILURES = timedelta(days=1)
MAX_PASSWORD_CHARS = 1024
CSRF_REFUSED = (
    "This form has expired or did not come from the portal. Reload the page and send it again."
)


# --- throttling -----------------------------------------------------------------------------


def throttle_key(email: str, ip: str | None) -> tuple[str, str]:
    """How failures are counted: the email as typed (lower-cased) and the client address."""
    return email.strip().lower()[:320], (ip or "unknown")[:64]


def locked_until(engine: Engine, email: str, ip: str, now: datetime) -> datetime | None:
    """When this email+address may try again, or None if it may try now."""
    pair = _unlocks_at(engine, now, MAX_FAILURES, email=email, ip=ip)
    address = _unlocks_at(engine, now, MAX_ADDRESS_FAILURES, ip=ip)
    locks = [until for until in (pair, address) if until is not None]
    return max(locks) if locks else None


def _unlocks_at(
    engine: Engine, now: datetime, limit: int, *, ip: str, email: str | None = None
) -> datetime | None:
    """When the oldest of ``limit`` recent failures (of the address, or of the email there)
    leaves the window; None while there are fewer."""
    conditions = [login_failures.c.ip == ip, login_failures.c.ts > now - WINDOW]
    if email is not None:
        conditions.append(login_failures.c.email == email)
    stmt = (
        select(login_failures.c.ts)
        .where(*conditions)
        .order_by(login_failures.c.ts.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        recent: list[datetime] = list(conn.execute(stmt).scalars())
    if len(recent) < limit:
        return None
    return min(recent) + WINDOW


def record_failure(engine: Engine, email: str, ip: str, now: datetime) -> None:
    """Count one failed sign-in; forget failures older than a day on the way."""
    with write(engine) as conn:
        conn.execute(login_failures.insert().values(email=email, ip=ip, ts=now))
        conn.execute(delete(login_failures).where(login_failures.c.ts < now - KEEP_FAILURES))


def clear_failures(engine: Engine, email: str, ip: str) -> None:
    with write(engine) as conn:
        conn.execute(
            delete(login_failures).where(login_failures.c.email == email, login_failures.c.ip == ip)
        )


# --- handlers -----------------------------------------------------------------------------


def require_csrf(ctx: Ctx) -> None:
    """403 unless the form carries this session's CSRF token."""
    if not csrf_matches(ctx.session, ctx.request.form.get("csrf_token")):
        raise Forbidden(CSRF_REFUSED)


def login_form(ctx: Ctx) -> Response:
    """GET /login: the form (a signed-in user goes straight to the portal)."""
    if ctx.user is not None:
        return redirect(safe_next(ctx), code=303)
    return _form(ctx)


def login(ctx: Ctx) -> Response:
    """POST /login: check throttling, then the credentials; a new session on success."""
    form = ctx.request.form
    email = text_field(form, "email", "Email", max_chars=320)
    password = password_field(form, "password", "Password", max_chars=MAX_PASSWORD_CHARS)
    key_email, ip = throttle_key(email, ctx.request.remote_addr)
    engine = ctx.control.engine
    now = datetime.now(UTC)
    until = locked_until(engine, key_email, ip, now)
    if until is not None:
        return _throttled(ctx, until, now)
    user = users.authenticate(engine, email, password)
    if user is None:
        record_failure(engine, key_email, ip, now)
        log.warning("portal sign-in failed for %r from %s", key_email, ip)
        return _form(ctx, email=email, error="Wrong email or password.", status=401)
    clear_failures(engine, key_email, ip)
    ctx.new_session = start_session(engine, user.id)
    log.info("portal sign-in: %s (%s)", user.email, user.role)
    return redirect(safe_next(ctx), code=303)


def logout(ctx: Ctx) -> Response:
    """POST /logout: end the session on the server and replace the cookie."""
    end_session(ctx.control.engine, ctx.session)
    ctx.new_session = Session.anonymous()
    return ctx.redirect("login_form")


def safe_next(ctx: Ctx) -> str:
    """Where to go after signing in: a portal path from ``next``, else the overview."""
    target = ctx.request.values.get("next", "")
    root = ctx.request.script_root + "/"
    if (
        target.startswith(root)
        and len(target) <= 2000
        and "//" not in target
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return ctx.url("overview")


def _form(ctx: Ctx, *, email: str = "", error: str = "", status: int = 200) -> Response:
    if not ctx.session_from_cookie and ctx.new_session is None:
        ctx.new_session = ctx.session  # the browser must hold the token the form carries
    next_path = ctx.request.values.get("next", "")
    return ctx.render("login.html", status=status, email=email, error=error, next=next_path)


def _throttled(ctx: Ctx, until: datetime, now: datetime) -> Response:
    wait = max(1, int((until - now).total_seconds()) + 1)
    response = ctx.render(
        "error.html",
        status=429,
        title="Too many failed sign-ins",
        message=(
            f"Sign-in from your address is paused after too many failed attempts "
            f"({MAX_FAILURES} for one email or {MAX_ADDRESS_FAILURES} in all within 15 minutes). "
            f"Try again after {until.strftime('%H:%M:%S')} UTC "
            f"(in about {(wait + 59) // 60} min). If you forgot the password, ask an admin."
        ),
    )
    response.headers["Retry-After"] = str(wait)
    return response
