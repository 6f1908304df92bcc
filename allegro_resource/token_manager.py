"""Hands out valid access tokens, refreshing them once across every process that shares a store.

The storage is abstract (``TokenStorage``): the control store implements it in
``control_store.token_store``. The lock it provides must hold across processes.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from allegro_resource.errors import AllegroError, InvalidGrant, NeedsReauthorization
from allegro_resource.models import TokenSet
from allegro_resource.token_status import STICKY_STATUSES
from settings.defaults import REFRESH_MARGIN_SECONDS


@dataclass(frozen=True, slots=True)
class StoredTokens:
    """An account's decrypted token pair and the state the manager needs (``customer_id``
    holds the account id: an agency account's or a customer's)."""

    customer_id: str
    access_token: str
    refresh_token: str
    expires_at: datetime
    status: str
    last_error: str | None
    version: int
    issued_at: datetime | None = None  # when this access token was obtained, if known

    def __repr__(self) -> str:  # never let a token reach a log through repr()
        return (
            f"StoredTokens(customer_id={self.customer_id!r}, status={self.status!r}, "
            f"expires_at={self.expires_at.isoformat()}, version={self.version})"
        )


class LockedTokens(Protocol):
    """A customer's token row held under a cross-process lock until the context exits."""

    @property
    def current(self) -> StoredTokens | None:
        """The row as read after the lock was taken."""
        ...

    def save_refreshed(self, tokens: TokenSet, now: datetime) -> None:
        """Store a rotated pair (committed when the context exits)."""
        ...

    def mark_needs_reauth(self, reason: str, now: datetime) -> None:
        """Record that Allegro refused the refresh token (committed when the context exits)."""
        ...


class TokenStorage(Protocol):
    """Where tokens live, keyed by account id (an agency account's or a customer's); see
    ``control_store.token_store.TokenStore``. Positional parameters: implementations name them
    as they like."""

    def read(self, account_id: str, /) -> StoredTokens | None: ...

    def locked(self, account_id: str, /) -> AbstractContextManager[LockedTokens]: ...

    def record_error(self, account_id: str, message: str, now: datetime, /) -> None: ...


class Refresher(Protocol):
    """The part of ``OAuthClient`` the manager uses."""

    def refresh(self, refresh_token: str, *, customer_id: str | None = None) -> TokenSet: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


RECHECK_SECONDS = 30.0
"""How long a manager uses a pair it read without asking the store again (while the token is
fresh): a revocation, a re-authorisation flag or a pair replaced by another process reaches a
running run within this time, or at once through a 401 (``force_refresh`` always re-reads)."""


@dataclass(frozen=True, slots=True)
class _Held:
    """A decrypted pair this manager read, and when (monotonic seconds) it read it."""

    row: StoredTokens
    read_at: float


def _same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class TokenManager:
    """The production ``TokenProvider``: one refresh per expiry, however many processes ask."""

    def __init__(
        self,
        store: TokenStorage,
        oauth: Refresher,
        *,
        refresh_margin_seconds: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], datetime] = _utcnow,
        recheck_seconds: float = RECHECK_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._oauth = oauth
        self._margin = timedelta(seconds=refresh_margin_seconds)
        self._clock = clock
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        # Per account: the pair last read from the store. Reading it costs a query and two
        # decryptions, once per API call before; a run makes hundreds of calls with one pair.
        self._held: dict[str, _Held] = {}
        # Per thread: the token this thread last received, i.e. the one a 401 it reports
        # with force_refresh was most likely about.
        self._handed_out = threading.local()

    def access_token(
        self,
        customer_id: str,
        /,
        *,
        force_refresh: bool = False,
        rejected_token: str | None = None,
    ) -> str:
        """A token valid for more than the margin; ``force_refresh`` after a 401.

        With ``force_refresh`` the manager refreshes only if the stored token is still the one
        that was rejected (``rejected_token``, else the last one this manager handed to the
        calling thread, else the stored one): another thread or process may already have
        replaced it, and refreshing again would only waste a rotation.

        A pair read from the store is used again without reading it for ``recheck_seconds``
        while its token stays fresh (``RECHECK_SECONDS``); past that, near expiry, or with
        ``force_refresh``, the store is read again.
        """
        if not force_refresh:
            held = self._held.get(customer_id)
            if (
                held is not None
                and self._monotonic() - held.read_at < self._recheck
                and self._fresh(held.row)
            ):
                return self._hand_out(held.row.access_token, customer_id)
        self._held.pop(customer_id, None)
        read_at = self._monotonic()
        row = self._store.read(customer_id)
        _require_usable(customer_id, row)
        assert row is not None
        if not force_refresh and self._fresh(row):
            self._held[customer_id] = _Held(row, read_at)
            return self._hand_out(row.access_token, customer_id)
        rejected: str | None = None
        if force_refresh:
            rejected = rejected_token or self._last_handed_out(customer_id) or row.access_token
        return self._refresh_under_lock(customer_id, rejected)

    def _refresh_under_lock(self, customer_id: str, rejected: str | None) -> str:
        error: AllegroError
        with self._store.locked(customer_id) as locked:
            row = locked.current  # re-read: another process may have refreshed meanwhile
            _require_usable(customer_id, row)
            assert row is not None
            replaced = rejected is None or not _same_secret(row.access_token, rejected)
            if replaced and self._fresh(row):
                return self._hand_out(row.access_token, customer_id)
            try:
                tokens = self._oauth.refresh(row.refresh_token, customer_id=customer_id)
            except InvalidGrant as exc:
                locked.mark_needs_reauth(_grant_reason(exc), self._clock())
                error = exc
            except AllegroError as exc:
                error = exc
            else:
                locked.save_refreshed(tokens, self._clock())
                return self._hand_out(tokens.access_token, customer_id)
        # The lock is released (and needs_reauth committed) before anything is raised.
        if isinstance(error, InvalidGrant):
            raise NeedsReauthorization(customer_id, _grant_reason(error)) from error
        self._store.record_error(customer_id, f"refresh failed: {error}", self._clock())
        raise error

    def _fresh(self, row: StoredTokens) -> bool:
        margin = self._margin
        if row.issued_at is not None and row.expires_at > row.issued_at:
            # A token living less than twice the margin (simulator, tests) is used for half
            # its life; otherwise every call would refresh it.
            margin = min(margin, (row.expires_at - row.issued_at) / 2)
        return row.expires_at - self._clock() > margin

    def _hand_out(self, token: str, customer_id: str) -> str:
        self._by_customer()[customer_id] = token
        return token

    def _last_handed_out(self, customer_id: str) -> str | None:
        return self._by_customer().get(customer_id)

    def _by_customer(self) -> dict[str, str]:
        tokens: dict[str, str] | None = getattr(self._handed_out, "tokens", None)
        if tokens is None:
            tokens = self._handed_out.tokens = {}
        return tokens


def _require_usable(customer_id: str, row: StoredTokens | None) -> None:
    if row is None:
        raise NeedsReauthorization(customer_id, "never authorised")
    if row.status in STICKY_STATUSES:
        raise NeedsReauthorization(customer_id, row.last_error or row.status)


def _grant_reason(exc: InvalidGrant) -> str:
    return f"Allegro refused the refresh token (invalid_grant: {exc.description or 'no detail'})"
