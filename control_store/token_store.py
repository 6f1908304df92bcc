"""OAuth tokens of every connected account, encrypted at rest with MultiFernet (keys newest
first, rotatable): customers' sales accounts (``c_…``) and the agency's accounts (``ag_…``).

``TokenStore`` is the control store's implementation of ``allegro_resource.token_manager``'s
``TokenStorage``, keyed by account id whatever the kind: its lock is ``SELECT … FOR UPDATE`` on
PostgreSQL and a per-account file lock beside a SQLite file. SQLite has only one lock for the
whole database, and a refresh holds its lock across an HTTP call to Allegro (retries
included): a write transaction held that long would stall every other write of the control
store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import filelock
from sqlalchemy import Connection, Engine, RowMapping, Select, func, select, update

from allegro_resource.models import TokenSet
from allegro_resource.token_manager import StoredTokens
from allegro_resource.token_status import STICKY_STATUSES, TokenStatus
from control_store import auth_links
from control_store.account_kind import AccountKind
from control_store.api_call_log import redact_secrets
from control_store.database import Conflict, NotFound, write
from control_store.schema import (
    agency_accounts,
    agency_oauth_states,
    customers,
    oauth_states,
    oauth_tokens,
)
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
    """What may be shown about an account's connection: never a token."""

    account_id: str
    kind: AccountKind
    account_name: str  # the customer's or the agency account's name
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
    """Encrypted token rows in the control store, one per connected account."""

    def __init__(
        self, engine: Engine, keys: Sequence[str], *, refresh_token_days: int = REFRESH_TOKEN_DAYS
    ) -> None:
        self.engine = engine
        self.cipher = TokenCipher(keys)
        self.refresh_lifetime = timedelta(days=refresh_token_days)
        self._refresh_locks = _sqlite_lock_folder(engine)

    # --- TokenStorage (used by TokenManager) --------------------------------

    def read(self, account_id: str) -> StoredTokens | None:
        """The decrypted row, without any lock."""
        with self.engine.connect() as conn:
            row = conn.execute(_select_row(account_id)).mappings().first()
        return None if row is None else self._decrypt(row)

    @contextmanager
    def locked(self, account_id: str) -> Iterator[_LockedRow]:
        """Hold the account's row locked across processes; commits on a normal exit."""
        if self._refresh_locks is not None:
            self._refresh_locks.mkdir(parents=True, exist_ok=True)
            with filelock.FileLock(self._refresh_locks / f"{account_id}.lock"):
                # Writes go through short transactions of their own; the version check in
                # _LockedRow._update refuses anything that changed the row meanwhile.
                yield _LockedRow(self, None, account_id, self.read(account_id))
            return
        with write(self.engine) as conn:
            stmt = _select_row(account_id)
            if conn.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE already locks
                stmt = stmt.with_for_update()
            row = conn.execute(stmt).mappings().first()
            yield _LockedRow(self, conn, account_id, None if row is None else self._decrypt(row))

    def record_error(self, account_id: str, message: str, now: datetime) -> None:
        """Note a failure that did not change the connection's status."""
        with write(self.engine) as conn:
            conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.account_id == account_id)
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
        """Store the pair a customer's consent produced (their sales account), bind the Allegro
        account to the customer, use up the link.

        One transaction: if the link was used or revoked meanwhile nothing is stored
        (``auth_links.LinkUnusable``); an account already bound elsewhere raises ``Conflict``.
        """
        now = now or _now()
        with write(self.engine) as conn:
            if link_id is not None:
                auth_links.mark_used_in(conn, link_id, now, customer_id=customer_id)
            _bind_account(conn, customer_id, allegro_login, allegro_user_id, ads_client_id)
            self._store_pair(conn, customer_id, AccountKind.SALES, tokens, now)

    def save_agency_connection(
        self,
        agency_account_id: str,
        tokens: TokenSet,
        *,
        allegro_login: str,
        allegro_user_id: str,
        now: datetime | None = None,
    ) -> None:
        """Store the pair an agency account's authorisation produced and bind its Allegro user.

        One transaction. ``Conflict`` (nothing stored) if that Allegro user is already another
        agency account's, or if this agency account is bound to a different Allegro user (its
        clients belong to that user: connect the new one as a new agency account).
        """
        now = now or _now()
        with write(self.engine) as conn:
            _bind_agency(conn, agency_account_id, allegro_login, allegro_user_id)
            self._store_pair(conn, agency_account_id, AccountKind.AGENCY, tokens, now)

    def revoke(self, account_id: str, reason: str, now: datetime | None = None) -> None:
        """Forget the tokens (ciphertext wiped) and mark the connection revoked."""
        now = now or _now()
        with write(self.engine) as conn:
            result = conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.account_id == account_id)
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
                raise NotFound(f"account {account_id} has no stored tokens to revoke")

    def info(self, account_id: str) -> TokenInfo | None:
        """The displayable state of one account's connection."""
        infos = self._infos(oauth_tokens.c.account_id == account_id)
        return infos[0] if infos else None

    def list_info(self, kind: AccountKind | None = None) -> list[TokenInfo]:
        """Every stored connection (or those of one kind), agency accounts first, then by name."""
        where = None if kind is None else oauth_tokens.c.account_kind == AccountKind(kind).value
        return self._infos(where)

    # --- internals ------------------------------------------------------------

    def _store_pair(
        self,
        conn: Connection,
        account_id: str,
        kind: AccountKind,
        tokens: TokenSet,
        now: datetime,
    ) -> None:
        values = self._pair_values(tokens, now) | {
            "account_kind": kind.value,
            "status": TokenStatus.CONNECTED.value,
            "connected_at": now,
            "last_refresh_at": None,
            "last_error": None,
        }
        exists = conn.execute(
            select(oauth_tokens.c.version).where(oauth_tokens.c.account_id == account_id)
        ).scalar()
        if exists is None:
            conn.execute(oauth_tokens.insert().values(account_id=account_id, version=1, **values))
        else:
            conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.account_id == account_id)
                .values(version=oauth_tokens.c.version + 1, **values)
            )

    def _infos(self, where: Any) -> list[TokenInfo]:
        # Exactly one of the two joins matches: the kind says which table owns the id.
        is_agency = oauth_tokens.c.account_kind == AccountKind.AGENCY.value
        stmt = (
            select(
                oauth_tokens.c.account_id,
                oauth_tokens.c.account_kind.label("kind"),
                func.coalesce(
                    customers.c.name, agency_accounts.c.name, oauth_tokens.c.account_id
                ).label("account_name"),
                func.coalesce(customers.c.allegro_login, agency_accounts.c.allegro_login).label(
                    "allegro_login"
                ),
                oauth_tokens.c.status,
                oauth_tokens.c.expires_at,
                oauth_tokens.c.refresh_expires_at,
                oauth_tokens.c.scope,
                oauth_tokens.c.connected_at,
                oauth_tokens.c.last_refresh_at,
                oauth_tokens.c.last_error,
                oauth_tokens.c.updated_at,
            )
            .outerjoin(customers, (customers.c.id == oauth_tokens.c.account_id) & ~is_agency)
            .outerjoin(
                agency_accounts, (agency_accounts.c.id == oauth_tokens.c.account_id) & is_agency
            )
            .order_by(oauth_tokens.c.account_kind, "account_name")
        )
        if where is not None:
            stmt = stmt.where(where)
        with self.engine.connect() as conn:
            return [
                TokenInfo(**(dict(row) | {"kind": AccountKind(row["kind"])}))
                for row in conn.execute(stmt).mappings()
            ]

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
        what = _whose(row["account_id"], row["account_kind"])
        # Positional: the id field is the account's, whatever StoredTokens calls it.
        return StoredTokens(
            row["account_id"],
            access_token=self.cipher.decrypt(row["access_token_enc"], what),
            refresh_token=self.cipher.decrypt(row["refresh_token_enc"], what),
            expires_at=row["expires_at"],
            status=row["status"],
            last_error=row["last_error"],
            version=row["version"],
            issued_at=row["last_refresh_at"] or row["connected_at"],
        )


class _LockedRow:
    """``LockedTokens`` over an open write transaction (or a file lock on SQLite)."""

    def __init__(
        self,
        store: TokenStore,
        conn: Connection | None,
        account_id: str,
        current: StoredTokens | None,
    ) -> None:
        self._store = store
        self._conn = conn
        self._account_id = account_id
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
            raise NotFound(f"account {self._account_id} has no token row to update")
        statement = (
            update(oauth_tokens)
            .where(
                oauth_tokens.c.account_id == self._account_id,
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
                f"the tokens of account {self._account_id} changed during the refresh "
                "(a new consent or a revocation came first and is kept); ask for a token again"
            )


def _sqlite_lock_folder(engine: Engine) -> Path | None:
    """Where a SQLite file's per-account refresh locks live; None for other databases (and
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

    Returns the number of connections (sales and agency) whose tokens were re-encrypted. If any
    value cannot be decrypted nothing is changed.
    """
    cipher = TokenCipher(keys)
    with write(engine) as conn:
        stmt = select(
            oauth_tokens.c.account_id,
            oauth_tokens.c.account_kind,
            oauth_tokens.c.access_token_enc,
            oauth_tokens.c.refresh_token_enc,
        )
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        rows = conn.execute(stmt).all()
        for account_id, kind, access_enc, refresh_enc in rows:
            what = _whose(account_id, kind)
            conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.account_id == account_id)
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
        agency_pending = conn.execute(
            select(agency_oauth_states.c.state, agency_oauth_states.c.code_verifier_enc).where(
                agency_oauth_states.c.used_at.is_(None)
            )
        ).all()
        for state, verifier_enc in agency_pending:
            conn.execute(
                update(agency_oauth_states)
                .where(agency_oauth_states.c.state == state)
                .values(code_verifier_enc=cipher.rotate(verifier_enc, "a pending agency sign-in"))
            )
    return len(rows)


def _whose(account_id: str, kind: str) -> str:
    owner = "agency account" if kind == AccountKind.AGENCY.value else "customer"
    return f"the tokens of {owner} {account_id}"


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


def _bind_agency(conn: Connection, agency_account_id: str, login: str, user_id: str) -> None:
    if not user_id.strip():
        raise ValueError("an agency connection needs the Allegro user id that /me returned")
    account = conn.execute(
        select(agency_accounts).where(agency_accounts.c.id == agency_account_id)
    ).first()
    if account is None:
        raise NotFound(
            f"no agency account {agency_account_id}; list them with: allegro-ads agency list"
        )
    if not account.active:
        raise Conflict(
            f"agency account {account.name} ({account.id}) is deactivated; connect the Allegro "
            "account as a new agency account"
        )
    if account.allegro_user_id is not None and account.allegro_user_id != user_id:
        raise Conflict(
            f"agency account {account.name} is connected to Allegro account "
            f"{account.allegro_login or account.allegro_user_id}, not {login}; its clients "
            "belong to that account: sign in as it again, or connect "
            f"{login} as a new agency account"
        )
    other = conn.execute(
        select(agency_accounts.c.id, agency_accounts.c.name).where(
            agency_accounts.c.allegro_user_id == user_id,
            agency_accounts.c.id != agency_account_id,
        )
    ).first()
    if other is not None:
        raise Conflict(
            f"Allegro account {login} is already connected as agency account {other.name} "
            f"({other.id}); reconnect that one instead"
        )
    conn.execute(
        update(agency_accounts)
        .where(agency_accounts.c.id == agency_account_id)
        .values(allegro_user_id=user_id, allegro_login=login)
    )


def _select_row(account_id: str) -> Select[Any]:
    return select(oauth_tokens).where(oauth_tokens.c.account_id == account_id)


def _clean(message: str) -> str:
    return redact_secrets(message)[:1000]
