"""Customers' OAuth tokens, encrypted at rest with MultiFernet (keys newest first, rotatable).

``TokenStore`` is the control store's implementation of ``allegro_resource.token_manager``'s
``TokenStorage``: its lock is ``SELECT … FOR UPDATE`` on PostgreSQL and a per-customer file lock
beside a SQLite file. SQLite has only one lock for the whole database, and a refresh holds its
lock across an HTTP call to Allegro (retries included): a write transaction held that long
would stall every other write of the control store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import filelock
from sqlalchemy import Connection, Engine, RowMapping, Select, select, update

from allegro_resource.models import TokenSet
from allegro_resource.token_manager import StoredTokens
from allegro_resource.token_status import STICKY_STATUSES, TokenStatus
from control_store import auth_links
from control_store.api_call_log import redact_secrets
from control_store.database import Conflict, NotFound, write
from control_store.schema import customers, oauth_states, oauth_tokens
from control_store.token_cipher import TokenCipher
from settings.defaults import REFRESH_TOKEN_DAYS


class _StatusRow(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def refresh_expires_at(self) -> datetime: ...


def token_status(row: _StatusRow, now: datetime, expiring_days: float) -> TokenStatus:
    """The honest status: sticky stored states first, then the refresh token's lifetime.

    An access token past expiry but still refreshable counts as connected.
    """
    if row.status in STICKY_STATUSES:
        return TokenStatus(row.status)
    if row.refresh_expires_at <= now:
        return TokenStatus.EXPIRED
    if row.refresh_expires_at - now <= timedelta(days=expiring_days):
        return TokenStatus.EXPIRING
    return TokenStatus.CONNECTED


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a customer's connection: never a token."""

    customer_id: str
    customer_name: str
    allegro_login: str | None
    status: str  # as stored; use token_status() for display
    expires_at: datetime
    refresh_expires_at: datetime
    scope: str
    connected_at: datetime
    last_refresh_at: datetime | None
    last_error: str | None
    updated_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class TokenStore:
    """Encrypted token rows in the control store."""

    def __init__(
        self, engine: Engine, keys: Sequence[str], *, refresh_token_days: int = REFRESH_TOKEN_DAYS
    ) -> None:
        self.engine = engine
        self.cipher = TokenCipher(keys)
        self.refresh_lifetime = timedelta(days=refresh_token_days)
        self._refresh_locks = _sqlite_lock_folder(engine)

    # --- TokenStorage (used by TokenManager) --------------------------------

    def read(self, customer_id: str) -> StoredTokens | None:
        """The decrypted row, without any lock."""
        with self.engine.connect() as conn:
            row = conn.execute(_select_row(customer_id)).mappings().first()
        return None if row is None else self._decrypt(row)

    @contextmanager
    def locked(self, customer_id: str) -> Iterator[_LockedRow]:
        """Hold the customer's row locked across processes; commits on a normal exit."""
        if self._refresh_locks is not None:
            self._refresh_locks.mkdir(parents=True, exist_ok=True)
            with filelock.FileLock(self._refresh_locks / f"{customer_id}.lock"):
                # Writes go through short transactions of their own; the version check in
                # _LockedRow._update refuses anything that changed the row meanwhile.
                yield _LockedRow(self, None, self.read(customer_id))
            return
        with write(self.engine) as conn:
            stmt = _select_row(customer_id)
            if conn.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE already locks
                stmt = stmt.with_for_update()
            row = conn.execute(stmt).mappings().first()
            yield _LockedRow(self, conn, None if row is None else self._decrypt(row))

    def record_error(self, customer_id: str, message: str, now: datetime) -> None:
        """Note a failure that did not change the connection's status."""
        with write(self.engine) as conn:
            conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.customer_id == customer_id)
                .values(last_error=_clean(message), updated_at=now)
            )

    # --- consent and administration ------------------------------------------

    def save_consent(
        self,
        customer_id: str,
        tokens: TokenSet,
        *,
        allegro_login: str | None = None,
        allegro_user_id: str | None = None,
        ads_client_id: str | None = None,
        link_id: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Store the pair a consent produced, bind the Allegro account, use up the link.

        One transaction: if the link was used or revoked meanwhile nothing is stored
        (``auth_links.LinkUnusable``); an account already bound elsewhere raises ``Conflict``.
        """
        now = now or _now()
        with write(self.engine) as conn:
            if link_id is not None:
                auth_links.mark_used_in(conn, link_id, now, customer_id=customer_id)
            _bind_account(conn, customer_id, allegro_login, allegro_user_id, ads_client_id)
            values = self._pair_values(tokens, now) | {
                "status": TokenStatus.CONNECTED.value,
                "connected_at": now,
                "last_refresh_at": None,
                "last_error": None,
            }
            exists = conn.execute(
                select(oauth_tokens.c.version).where(oauth_tokens.c.customer_id == customer_id)
            ).scalar()
            if exists is None:
                conn.execute(
                    oauth_tokens.insert().values(customer_id=customer_id, version=1, **values)
                )
            else:
                conn.execute(
                    update(oauth_tokens)
                    .where(oauth_tokens.c.customer_id == customer_id)
                    .values(version=oauth_tokens.c.version + 1, **values)
                )

    def revoke(self, customer_id: str, reason: str, now: datetime | None = None) -> None:
        """Forget the tokens (ciphertext wiped) and mark the connection revoked."""
        now = now or _now()
        with write(self.engine) as conn:
            result = conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.customer_id == customer_id)
                .values(
                    access_token_enc="",
                    refresh_token_enc="",
                    status=TokenStatus.REVOKED.value,
                    last_error=_clean(reason),
                    updated_at=now,
                    version=oauth_tokens.c.version + 1,
                )
            )
            if result.rowcount != 1:
                raise NotFound(f"customer {customer_id} has no stored tokens to revoke")

    def info(self, customer_id: str) -> TokenInfo | None:
        """The displayable state of one customer's connection."""
        infos = self._infos(oauth_tokens.c.customer_id == customer_id)
        return infos[0] if infos else None

    def list_info(self) -> list[TokenInfo]:
        """Every stored connection, by customer name."""
        return self._infos(None)

    # --- internals ------------------------------------------------------------

    def _infos(self, where: Any) -> list[TokenInfo]:
        stmt = (
            select(
                oauth_tokens.c.customer_id,
                customers.c.name.label("customer_name"),
                customers.c.allegro_login,
                oauth_tokens.c.status,
                oauth_tokens.c.expires_at,
                oauth_tokens.c.refresh_expires_at,
                oauth_tokens.c.scope,
                oauth_tokens.c.connected_at,
                oauth_tokens.c.last_refresh_at,
                oauth_tokens.c.last_error,
                oauth_tokens.c.updated_at,
            )
            .join(customers, customers.c.id == oauth_tokens.c.customer_id)
            .order_by(customers.c.name)
        )
        if where is not None:
            stmt = stmt.where(where)
        with self.engine.connect() as conn:
            return [TokenInfo(**dict(row)) for row in conn.execute(stmt).mappings()]

    def _pair_values(self, tokens: TokenSet, now: datetime) -> dict[str, Any]:
        return {
            "access_token_enc": self.cipher.encrypt(tokens.access_token),
            "refresh_token_enc": self.cipher.encrypt(tokens.refresh_token),
            "expires_at": tokens.expires_at,
            "refresh_expires_at": now + self.refresh_lifetime,
            "scope": tokens.scope,
            "updated_at": now,
        }

    def _decrypt(self, row: RowMapping) -> StoredTokens:
        what = f"the tokens of customer {row['customer_id']}"
        return StoredTokens(
            customer_id=row["customer_id"],
            access_token=self.cipher.decrypt(row["access_token_enc"], what),
            refresh_token=self.cipher.decrypt(row["refresh_token_enc"], what),
            expires_at=row["expires_at"],
            status=row["status"],
            last_error=row["last_error"],
            version=row["version"],
            issued_at=row["last_refresh_at"] or row["connected_at"],
        )


class _LockedRow:
    """``LockedTokens`` over an open write transaction."""

    def __init__(
        self, store: TokenStore, conn: Connection | None, current: StoredTokens | None
    ) -> None:
        self._store = store
        self._conn = conn
        self._current = current

    @property
    def current(self) -> StoredTokens | None:
        return self._current

    def save_refreshed(self, tokens: TokenSet, now: datetime) -> None:
        values = self._store._pair_values(tokens, now) | {
            "status": TokenStatus.CONNECTED.value,
            "last_refresh_at": now,
            "last_error": None,
        }
        self._update(values)

    def mark_needs_reauth(self, reason: str, now: datetime) -> None:
        self._update(
            {
                "status": TokenStatus.NEEDS_REAUTH.value,
                "last_error": _clean(reason),
                "updated_at": now,
            }
        )

    def _update(self, values: dict[str, Any]) -> None:
        if self._current is None:
            raise NotFound("no token row to update")
        statement = (
            update(oauth_tokens)
            .where(
                oauth_tokens.c.customer_id == self._current.customer_id,
                oauth_tokens.c.version == self._current.version,
            )
            .values(version=oauth_tokens.c.version + 1, **values)
        )
        if self._conn is not None:
            rowcount = self._conn.execute(statement).rowcount
        else:
            with write(self._store.engine) as conn:
                rowcount = conn.execute(statement).rowcount
        if rowcount != 1:  # impossible under the lock; refuse rather than overwrite
            raise Conflict(
                f"the tokens of customer {self._current.customer_id} changed during the refresh "
                "(a new consent or a revocation came first and is kept); ask for a token again"
            )


def _sqlite_lock_folder(engine: Engine) -> Path | None:
    """Where a SQLite file's per-customer refresh locks live; None for other databases (and
    for in-memory SQLite, which one process alone can see)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return path.with_name(f"{path.name}.refresh-locks")


def rotate_keys(engine: Engine, keys: Sequence[str]) -> int:
    """Re-encrypt every stored token (and pending OAuth state) with ``keys[0]``, in one transaction.

    Returns the number of customers whose tokens were re-encrypted. If any value cannot be
    decrypted nothing is changed.
    """
    cipher = TokenCipher(keys)
    with write(engine) as conn:
        stmt = select(
            oauth_tokens.c.customer_id,
            oauth_tokens.c.access_token_enc,
            oauth_tokens.c.refresh_token_enc,
        )
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        rows = conn.execute(stmt).all()
        for customer_id, access_enc, refresh_enc in rows:
            what = f"the tokens of customer {customer_id}"
            conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.customer_id == customer_id)
                .values(
                    access_token_enc=cipher.rotate(access_enc, what),
                    refresh_token_enc=cipher.rotate(refresh_enc, what),
                )
            )
        pending = conn.execute(
            select(oauth_states.c.state, oauth_states.c.code_verifier_enc).where(
                oauth_states.c.used_at.is_(None)
            )
        ).all()
        for state, verifier_enc in pending:
            conn.execute(
                update(oauth_states)
                .where(oauth_states.c.state == state)
                .values(code_verifier_enc=cipher.rotate(verifier_enc, "a pending OAuth state"))
            )
    return len(rows)


def _bind_account(
    conn: Connection,
    customer_id: str,
    login: str | None,
    user_id: str | None,
    ads_client_id: str | None = None,
) -> None:
    found = conn.execute(select(customers.c.id).where(customers.c.id == customer_id)).scalar()
    if found is None:
        raise NotFound(f"no customer {customer_id}; list them with: allegro-ads customers list")
    if user_id is not None:
        other = conn.execute(
            select(customers.c.id, customers.c.name).where(
                customers.c.allegro_user_id == user_id, customers.c.id != customer_id
            )
        ).first()
        if other is not None:
            raise Conflict(
                f"Allegro account {login or user_id} is already connected to customer "
                f"{other.name} ({other.id}); deactivate that customer first"
            )
    values = {"allegro_login": login, "allegro_user_id": user_id, "ads_client_id": ads_client_id}
    values = {k: v for k, v in values.items() if v is not None}
    if values:
        conn.execute(update(customers).where(customers.c.id == customer_id).values(**values))


def _select_row(customer_id: str) -> Select[Any]:
    return select(oauth_tokens).where(oauth_tokens.c.customer_id == customer_id)


def _clean(message: str) -> str:
    return redact_secrets(message)[:1000]
