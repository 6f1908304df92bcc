"""A ``TokenStorage`` in memory, for tests of the token manager without a control store.

Several ``TokenManager`` instances over one ``MemoryTokenStorage`` behave like several processes
over one control store: they share the rows and the per-account lock, and each keeps its own
memory of what it handed out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from allegro_resource.models import TokenSet
from allegro_resource.token_manager import StoredTokens
from allegro_resource.token_status import TokenStatus


class MemoryTokenStorage:
    """Token rows keyed by account id, one lock per account; counts the refreshes saved."""

    def __init__(self) -> None:
        self._rows: dict[str, StoredTokens] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.saved_refreshes = 0

    def put(self, account_id: str, tokens: TokenSet, now: datetime | None = None) -> None:
        """Store a consented pair (version 1, connected)."""
        with self._guard:
            self._rows[account_id] = _row(account_id, tokens, 1, now or datetime.now(UTC))

    def read(self, account_id: str, /) -> StoredTokens | None:
        with self._guard:
            return self._rows.get(account_id)

    @contextmanager
    def locked(self, account_id: str, /) -> Iterator[_Locked]:
        with self._guard:
            lock = self._locks.setdefault(account_id, threading.Lock())
        with lock:
            yield _Locked(self, account_id, self.read(account_id))

    def record_error(self, account_id: str, message: str, now: datetime, /) -> None:
        with self._guard:
            row = self._rows.get(account_id)
            if row is not None:
                self._rows[account_id] = replace(row, last_error=message)

    def _write(self, account_id: str, row: StoredTokens) -> None:
        with self._guard:
            self._rows[account_id] = row


@dataclass
class _Locked:
    storage: MemoryTokenStorage
    account_id: str
    current: StoredTokens | None

    def save_refreshed(self, tokens: TokenSet, now: datetime) -> None:
        version = self.current.version + 1 if self.current else 1
        self.storage._write(self.account_id, _row(self.account_id, tokens, version, now))
        self.storage.saved_refreshes += 1

    def mark_needs_reauth(self, reason: str, now: datetime) -> None:
        if self.current is not None:
            row = replace(self.current, status=TokenStatus.NEEDS_REAUTH.value, last_error=reason)
            self.storage._write(self.account_id, row)


def _row(account_id: str, tokens: TokenSet, version: int, now: datetime) -> StoredTokens:
    return StoredTokens(
        customer_id=account_id,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        status=TokenStatus.CONNECTED.value,
        last_error=None,
        version=version,
        issued_at=now,
    )
