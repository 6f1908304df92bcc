"""An in-memory ``TokenProvider``: one token pair per customer, refreshed when needed.

For the demo, benchmarks and tests; the persistent token manager (control store) is the
production provider. Nothing here is written to disk or logged.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from allegro_resource.errors import InvalidGrant, NeedsReauthorization
from allegro_resource.models import TokenSet
from allegro_resource.oauth import OAuthClient


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StaticTokenProvider:
    """Holds a ``TokenSet`` per customer; refreshes ahead of expiry or on ``force_refresh``.

    Thread-safe: refreshes of one customer are serialised, so a rotated refresh token is
    never used twice. After ``invalid_grant`` the customer stays ``NeedsReauthorization``
    until ``put`` hands in new tokens.
    """

    def __init__(
        self,
        oauth: OAuthClient,
        tokens: Mapping[str, TokenSet] | None = None,
        *,
        refresh_margin_seconds: float = 60.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.oauth = oauth
        self.refresh_margin = timedelta(seconds=refresh_margin_seconds)
        self.clock = clock
        self._tokens: dict[str, TokenSet] = dict(tokens or {})
        self._dead: dict[str, str] = {}
        self._refreshes: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"StaticTokenProvider(customers={len(self._tokens)})"

    def put(self, customer_id: str, tokens: TokenSet) -> None:
        """Hold ``tokens`` for the customer (e.g. after consent), replacing any earlier pair."""
        with self._lock(customer_id), self._guard:
            self._tokens[customer_id] = tokens
            self._dead.pop(customer_id, None)

    def token_set(self, customer_id: str) -> TokenSet:
        """The pair currently held for the customer (``NeedsReauthorization`` if none)."""
        with self._lock(customer_id):
            return self._current(customer_id)

    def customers(self) -> list[str]:
        """The customers tokens are held for."""
        with self._guard:
            return sorted(self._tokens)

    def refresh_count(self, customer_id: str) -> int:
        """How many refreshes were sent to Allegro for the customer (successful or not)."""
        with self._guard:
            return self._refreshes.get(customer_id, 0)

    def access_token(
        self,
        customer_id: str,
        /,
        *,
        force_refresh: bool = False,
        rejected_token: str | None = None,
    ) -> str:
        """A usable access token; refreshed first when forced or within the margin of expiry.

        A forced refresh naming ``rejected_token`` refreshes only if that is still the token
        held: another thread may have replaced it while the rejected call was under way.
        Raises ``NeedsReauthorization`` when the customer's consent is gone.
        """
        with self._lock(customer_id):
            tokens = self._current(customer_id)
            replaced = rejected_token is not None and not hmac.compare_digest(
                tokens.access_token.encode(), rejected_token.encode()
            )
            if (force_refresh and not replaced) or self._expiring(tokens):
                tokens = self._refresh(customer_id, tokens)
            return tokens.access_token

    def _current(self, customer_id: str) -> TokenSet:
        with self._guard:
            dead, tokens = self._dead.get(customer_id), self._tokens.get(customer_id)
        if dead is not None:
            raise NeedsReauthorization(customer_id, dead)
        if tokens is None:
            raise NeedsReauthorization(customer_id, "no tokens are held for this customer")
        return tokens

    def _expiring(self, tokens: TokenSet) -> bool:
        return tokens.expires_at - self.refresh_margin <= self.clock()

    def _refresh(self, customer_id: str, tokens: TokenSet) -> TokenSet:
        with self._guard:
            self._refreshes[customer_id] = self._refreshes.get(customer_id, 0) + 1
        try:
            fresh = self.oauth.refresh(tokens.refresh_token, customer_id=customer_id)
        except InvalidGrant as exc:
            reason = f"Allegro refused the refresh token: {exc.description or exc.error}"
            with self._guard:
                self._dead[customer_id] = reason
            raise NeedsReauthorization(customer_id, reason) from exc
        with self._guard:
            self._tokens[customer_id] = fresh
        return fresh

    def _lock(self, customer_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(customer_id, threading.Lock())
