"""Allegro's per-application limit: so many requests in any 60 seconds, and past it the
application (its client id) is blocked for one whole minute."""

from __future__ import annotations

from collections import deque


class RateLimiter:
    """Counts calls per key on a rolling window; a call over ``limit`` starts a block of
    ``block_seconds`` during which every call is refused (and not counted).

    Not thread-safe on its own: the simulator's state calls it under its lock. Time is passed
    in, so the simulator's movable clock drives the window and the block."""

    def __init__(self, limit: int, window_seconds: float = 60.0, block_seconds: float = 60.0):
        self.limit = limit
        self.window_seconds = window_seconds
        self.block_seconds = block_seconds
        self._calls: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def admit(self, key: str, now: float) -> float | None:
        """Count one call of ``key`` at ``now``: None when it may proceed, else the seconds
        until the block ends."""
        blocked_until = self._blocked_until.get(key)
        if blocked_until is not None:
            if now < blocked_until:
                return blocked_until - now
            del self._blocked_until[key]
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.window_seconds:
            calls.popleft()
        if len(calls) >= self.limit:
            # The block starts with the refused call; the calls before it no longer count.
            calls.clear()
            self._blocked_until[key] = now + self.block_seconds
            return self.block_seconds
        calls.append(now)
        return None

    def blocked(self, now: float) -> dict[str, float]:
        """The keys blocked at ``now`` with the seconds left (for the simulator's counters)."""
        return {k: until - now for k, until in self._blocked_until.items() if until > now}
