"""Portal sessions: a signed, timed, HttpOnly SameSite cookie holding the user id, the id of
the session's row in the control store, and the session's CSRF token.

The row lets signing out end the session on the server: a copied cookie stops working too.
Anonymous visitors get a cookie as well (no user), so the login form has a CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine, delete, select, update
from werkzeug.wrappers import Request, Response

from control_store.database import write
from control_store.schema import portal_sessions

COOKIE_NAME = "aam_portal"
SALT = "portal-session"
MAX_AGE = timedelta(hours=12)
MAX_COOKIE_CHARS = 1024  # ours are ~150; anything longer is not ours


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in (``user_id`` None: nobody), under which session row, and the CSRF
    token of this session."""

    user_id: str | None
    session_id: str | None
    csrf_token: str

    @classmethod
    def anonymous(cls) -> Session:
        return cls(None, None, new_csrf_token())


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


class SessionCodec:
    """Signs sessions into cookie values and checks them back (signature and age)."""

    def __init__(self, secret: str, max_age: timedelta = MAX_AGE) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self.max_age = max_age

    def dumps(self, session: Session) -> str:
        data = {"u": session.user_id, "s": session.session_id, "c": session.csrf_token}
        return str(self._serializer.dumps(data))

    def loads(self, value: str) -> Session | None:
        """The session in ``value``, or None if it is forged, altered, too old or malformed."""
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        try:
            data = self._serializer.loads(value, max_age=int(self.max_age.total_seconds()))
        except (BadSignature, ValueError, TypeError):
            return None
        return _session_of(data)

    def read(self, request: Request) -> Session | None:
        return self.loads(request.cookies.get(COOKIE_NAME, ""))

    def write(self, response: Response, session: Session, *, secure: bool, path: str) -> None:
        """Set the cookie: HttpOnly, SameSite=Lax, Secure over HTTPS, scoped to the portal."""
        response.set_cookie(
            COOKIE_NAME,
            self.dumps(session),
            max_age=int(self.max_age.total_seconds()),
            path=path,
            httponly=True,
            secure=secure,
            samesite="Lax",
        )

    @staticmethod
    def clear(response: Response, *, secure: bool, path: str) -> None:
        response.delete_cookie(COOKIE_NAME, path=path, httponly=True, secure=secure, samesite="Lax")


def _session_of(data: object) -> Session | None:
    if not isinstance(data, dict):
        return None
    user_id, session_id, csrf = data.get("u"), data.get("s"), data.get("c")
    if not isinstance(csrf, str) or len(csrf) < 32:
        return None
    if user_id is None and session_id is None:
        return Session(None, None, csrf)
    if not isinstance(user_id, str) or not isinstance(session_id, str):
        return None
    return Session(user_id, session_id, csrf)


def csrf_matches(session: Session, submitted: str | None) -> bool:
    """True if the form's token is this session's (constant-time comparison)."""
    if not submitted:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), submitted.encode())


# --- session rows ---------------------------------------------------------------------------


def start_session(engine: Engine, user_id: str, max_age: timedelta = MAX_AGE) -> Session:
    """A new signed-in session: a new row, a new CSRF token, nothing carried over."""
    now = datetime.now(UTC)
    session = Session(user_id, secrets.token_urlsafe(32), new_csrf_token())
    with write(engine) as conn:
        conn.execute(delete(portal_sessions).where(portal_sessions.c.created_at < now - max_age))
        conn.execute(
            portal_sessions.insert().values(id=session.session_id, user_id=user_id, created_at=now)
        )
    return session


def session_is_live(engine: Engine, session: Session, max_age: timedelta = MAX_AGE) -> bool:
    """True while the session's row exists for its user, is not ended and not too old."""
    if session.user_id is None or session.session_id is None:
        return False
    stmt = select(portal_sessions.c.id).where(
        portal_sessions.c.id == session.session_id,
        portal_sessions.c.user_id == session.user_id,
        portal_sessions.c.ended_at.is_(None),
        portal_sessions.c.created_at > datetime.now(UTC) - max_age,
    )
    with engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def end_session(engine: Engine, session: Session) -> None:
    """Sign out: the row is ended, so the cookie (and any copy of it) no longer works."""
    if session.session_id is None:
        return
    with write(engine) as conn:
        conn.execute(
            update(portal_sessions)
            .where(portal_sessions.c.id == session.session_id)
            .values(ended_at=datetime.now(UTC))
        )
