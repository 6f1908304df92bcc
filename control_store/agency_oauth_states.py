"""The portal's "Connect agency account" sign-ins in flight (code flow with PKCE).

A state is created when an admin presses "Connect" and is bound to the agency account and to
that admin: only the same admin can finish it, once, within ``AGENCY_STATE_TTL``. The PKCE
verifier is stored encrypted (the token cipher). Customer consents keep their own states in
``oauth_states`` (``auth_links``); ``is_agency_state`` tells the shared callback which is which.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, delete, select, update

from control_store.database import Conflict, NotFound, write
from control_store.schema import agency_accounts, agency_oauth_states, users
from control_store.token_cipher import TokenCipher

AGENCY_STATE_TTL = timedelta(minutes=10)
MAX_STATE_CHARS = 128  # the column's width; anything longer was never issued here
_WHAT = "a pending agency sign-in"


class AgencyStateUnusable(Conflict):
    """The state is unknown, used, expired, or was begun by another admin."""


@dataclass(frozen=True, slots=True)
class ConsumedAgencyState:
    """What finishing the sign-in needs, after the state was used up."""

    agency_account_id: str
    user_id: str
    code_verifier: str

    def __repr__(self) -> str:  # the verifier is a credential
        return f"ConsumedAgencyState(agency_account_id={self.agency_account_id!r})"


def _now() -> datetime:
    return datetime.now(UTC)


def create_agency_state(
    engine: Engine,
    cipher: TokenCipher,
    agency_account_id: str,
    user_id: str,
    code_verifier: str,
    *,
    ttl: timedelta = AGENCY_STATE_TTL,
    now: datetime | None = None,
) -> str:
    """A new random state for ``user_id`` connecting ``agency_account_id``.

    ``NotFound`` for an unknown account or user, ``Conflict`` for a deactivated account.
    """
    if ttl <= timedelta(0):
        raise ValueError("a sign-in state's lifetime must be positive")
    now = now or _now()
    state = secrets.token_urlsafe(32)
    with write(engine) as conn:
        active = conn.execute(
            select(agency_accounts.c.active).where(agency_accounts.c.id == agency_account_id)
        ).scalar()
        if active is None:
            raise NotFound(f"no agency account {agency_account_id}; reload the agency accounts")
        if not active:
            raise Conflict(
                f"agency account {agency_account_id} is deactivated; it cannot be connected"
            )
        if conn.execute(select(users.c.id).where(users.c.id == user_id)).scalar() is None:
            raise NotFound(f"no user {user_id}")
        conn.execute(
            agency_oauth_states.insert().values(
                state=state,
                agency_account_id=agency_account_id,
                user_id=user_id,
                code_verifier_enc=cipher.encrypt(code_verifier),
                created_at=now,
                expires_at=now + ttl,
            )
        )
    return state


def is_agency_state(engine: Engine, state: str) -> bool:
    """True if ``state`` was issued for an agency sign-in (used or not, expired or not)."""
    if not state or len(state) > MAX_STATE_CHARS:
        return False
    stmt = select(agency_oauth_states.c.state).where(agency_oauth_states.c.state == state)
    with engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def consume_agency_state(
    engine: Engine, cipher: TokenCipher, state: str, user_id: str, now: datetime | None = None
) -> ConsumedAgencyState:
    """Use the state once, atomically, for the admin who began it.

    ``AgencyStateUnusable`` if it is unknown, already used, expired, or another user's; another
    user's attempt leaves it usable for its owner.
    """
    now = now or _now()
    with write(engine) as conn:
        result = conn.execute(
            update(agency_oauth_states)
            .where(
                agency_oauth_states.c.state == state,
                agency_oauth_states.c.user_id == user_id,
                agency_oauth_states.c.used_at.is_(None),
                agency_oauth_states.c.expires_at > now,
            )
            .values(used_at=now)
        )
        if result.rowcount != 1:
            found = conn.execute(
                select(agency_oauth_states).where(agency_oauth_states.c.state == state)
            ).first()
            raise AgencyStateUnusable(_why_unusable(found, user_id))
        row = conn.execute(
            select(
                agency_oauth_states.c.agency_account_id, agency_oauth_states.c.code_verifier_enc
            ).where(agency_oauth_states.c.state == state)
        ).one()
    verifier = cipher.decrypt(row.code_verifier_enc, _WHAT)
    return ConsumedAgencyState(row.agency_account_id, user_id, verifier)


def _why_unusable(row: Row[Any] | None, user_id: str) -> str:
    again = "press Connect on the Agency accounts page again"
    if row is None:
        return f"this agency sign-in is unknown; {again}"
    if row.user_id != user_id:
        return f"this agency sign-in was started by another admin; {again} yourself"
    if row.used_at is not None:
        return f"this agency sign-in was already completed; {again} to connect once more"
    return f"this agency sign-in took longer than {_minutes(AGENCY_STATE_TTL)} minutes; {again}"


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def purge_agency_states(engine: Engine, now: datetime | None = None) -> int:
    """Delete states that expired more than a day ago (abandoned sign-ins); returns the count."""
    cutoff = (now or _now()) - timedelta(days=1)
    with write(engine) as conn:
        result = conn.execute(
            delete(agency_oauth_states).where(agency_oauth_states.c.expires_at < cutoff)
        )
    return result.rowcount
