"""Consent links (single-use, expiring, revocable) and the OAuth ``state`` rows of a consent.

The URL a customer receives carries a *signed* link id (``services.link_signing``); the row
here is what makes it single-use: ``mark_used_in`` succeeds for exactly one caller.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from control_store.database import Conflict, NotFound, write
from control_store.schema import auth_links, customers, oauth_states
from control_store.token_cipher import TokenCipher

DEFAULT_STATE_TTL = timedelta(minutes=15)


class LinkState(StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class AuthLink:
    id: str
    customer_id: str
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime | None = None) -> LinkState:
        """Revoked and used win over expired: they say more about what happened."""
        if self.revoked_at is not None:
            return LinkState.REVOKED
        if self.used_at is not None:
            return LinkState.USED
        if self.expires_at <= (now or _now()):
            return LinkState.EXPIRED
        return LinkState.VALID


class LinkUnusable(Conflict):
    """The link cannot start or finish a consent (unknown, used, expired or revoked)."""

    def __init__(self, link_id: str, state: LinkState | None) -> None:
        self.link_id = link_id
        self.state = state
        what = {
            None: "does not exist",
            LinkState.USED: "was already used",
            LinkState.EXPIRED: "has expired",
            LinkState.REVOKED: "was revoked",
            LinkState.VALID: "is valid but could not be used",
        }[state]
        super().__init__(f"this authorisation link {what}; ask the agency for a new link")


class StateUnusable(Conflict):
    """The OAuth ``state`` is unknown, already used or expired (replay or stale tab)."""


@dataclass(frozen=True, slots=True)
class ConsumedState:
    """What the callback needs after ``consume_oauth_state``."""

    state: str
    link_id: str
    customer_id: str
    code_verifier: str

    def __repr__(self) -> str:
        return f"ConsumedState(link_id={self.link_id!r}, customer_id={self.customer_id!r})"


def _now() -> datetime:
    return datetime.now(UTC)


def _link(row: Any) -> AuthLink:
    return AuthLink(**dict(row._mapping))


def new_link_id() -> str:
    """128 random bits, URL-safe, behind a letter: an id starting with "-" would read as an
    option to ``allegro-ads links revoke``."""
    return "l" + secrets.token_urlsafe(16)


def create_link(
    engine: Engine,
    customer_id: str,
    *,
    ttl: timedelta,
    created_by: str | None = None,
    now: datetime | None = None,
) -> AuthLink:
    """A new link for an active customer, valid for ``ttl``."""
    if ttl <= timedelta(0):
        raise ValueError("a link's lifetime must be positive")
    now = now or _now()
    link = AuthLink(new_link_id(), customer_id, created_by, now, now + ttl, None, None)
    with write(engine) as conn:
        active = conn.execute(
            select(customers.c.active).where(customers.c.id == customer_id)
        ).scalar()
        if active is None:
            raise NotFound(f"no customer {customer_id}; list them with: allegro-ads customers list")
        if not active:
            raise Conflict(f"customer {customer_id} is deactivated; no link can be issued")
        conn.execute(
            auth_links.insert().values(
                id=link.id,
                customer_id=link.customer_id,
                created_by=link.created_by,
                created_at=link.created_at,
                expires_at=link.expires_at,
            )
        )
    return link


def get_link(engine: Engine, link_id: str) -> AuthLink | None:
    with engine.connect() as conn:
        row = conn.execute(select(auth_links).where(auth_links.c.id == link_id)).first()
    return None if row is None else _link(row)


def require_usable(engine: Engine, link_id: str, now: datetime | None = None) -> AuthLink:
    """The link if it can still be used, else ``LinkUnusable`` saying why."""
    link = get_link(engine, link_id)
    state = None if link is None else link.state(now)
    if link is None or state is not LinkState.VALID:
        raise LinkUnusable(link_id, state)
    return link


def list_links(engine: Engine, customer_id: str | None = None) -> list[AuthLink]:
    """Links, newest first, optionally of one customer."""
    stmt = select(auth_links).order_by(auth_links.c.created_at.desc())
    if customer_id is not None:
        stmt = stmt.where(auth_links.c.customer_id == customer_id)
    with engine.connect() as conn:
        return [_link(row) for row in conn.execute(stmt)]


def mark_used_in(
    conn: Connection, link_id: str, now: datetime, *, customer_id: str | None = None
) -> None:
    """Use the link up inside the caller's transaction (e.g. together with storing tokens);
    exactly one caller succeeds, others get ``LinkUnusable``."""
    conditions = [
        auth_links.c.id == link_id,
        auth_links.c.used_at.is_(None),
        auth_links.c.revoked_at.is_(None),
        auth_links.c.expires_at > now,
    ]
    if customer_id is not None:
        conditions.append(auth_links.c.customer_id == customer_id)
    result = conn.execute(update(auth_links).where(*conditions).values(used_at=now))
    if result.rowcount == 1:
        return
    row = conn.execute(select(auth_links).where(auth_links.c.id == link_id)).first()
    if row is not None and customer_id is not None and row.customer_id != customer_id:
        raise LinkUnusable(link_id, None)
    raise LinkUnusable(link_id, None if row is None else _link(row).state(now))


def revoke_link(engine: Engine, link_id: str, now: datetime | None = None) -> AuthLink:
    """Revoke an unused link (revoking twice is harmless); a used link cannot be revoked."""
    now = now or _now()
    with write(engine) as conn:
        conn.execute(
            update(auth_links)
            .where(
                auth_links.c.id == link_id,
                auth_links.c.used_at.is_(None),
                auth_links.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        row = conn.execute(select(auth_links).where(auth_links.c.id == link_id)).first()
    if row is None:
        raise NotFound(f"no link {link_id}; list them with: allegro-ads links list")
    link = _link(row)
    if link.revoked_at is None:
        raise Conflict(f"link {link_id} was already used; disconnect the customer instead")
    return link


# --- OAuth state -----------------------------------------------------------


def create_oauth_state(
    engine: Engine,
    cipher: TokenCipher,
    link_id: str,
    code_verifier: str,
    *,
    ttl: timedelta = DEFAULT_STATE_TTL,
    now: datetime | None = None,
) -> str:
    """Start a consent for a usable link: a random ``state`` bound to it; the PKCE verifier
    is stored encrypted."""
    now = now or _now()
    state = secrets.token_urlsafe(32)
    with write(engine) as conn:
        row = conn.execute(select(auth_links).where(auth_links.c.id == link_id)).first()
        link_state = None if row is None else _link(row).state(now)
        if link_state is not LinkState.VALID:
            raise LinkUnusable(link_id, link_state)
        conn.execute(
            oauth_states.insert().values(
                state=state,
                link_id=link_id,
                code_verifier_enc=cipher.encrypt(code_verifier),
                created_at=now,
                expires_at=now + ttl,
            )
        )
    return state


def consume_oauth_state(
    engine: Engine, cipher: TokenCipher, state: str, now: datetime | None = None
) -> ConsumedState:
    """Use a ``state`` once (atomically); unknown, used or expired ones raise ``StateUnusable``."""
    now = now or _now()
    with write(engine) as conn:
        result = conn.execute(
            update(oauth_states)
            .where(
                oauth_states.c.state == state,
                oauth_states.c.used_at.is_(None),
                oauth_states.c.expires_at > now,
            )
            .values(used_at=now)
        )
        if result.rowcount != 1:
            raise StateUnusable(
                "this sign-in attempt is unknown, finished or too old; open your link again"
            )
        row = conn.execute(
            select(
                oauth_states.c.link_id, oauth_states.c.code_verifier_enc, auth_links.c.customer_id
            )
            .join(auth_links, auth_links.c.id == oauth_states.c.link_id)
            .where(oauth_states.c.state == state)
        ).one()
    verifier = cipher.decrypt(row.code_verifier_enc, "a pending OAuth state")
    return ConsumedState(state, row.link_id, row.customer_id, verifier)


def purge_oauth_states(engine: Engine, now: datetime | None = None) -> int:
    """Delete states that expired more than a day ago (abandoned sign-ins); returns the count."""
    cutoff = (now or _now()) - timedelta(days=1)
    with write(engine) as conn:
        result = conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < cutoff))
    return result.rowcount
