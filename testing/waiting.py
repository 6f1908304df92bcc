"""Waiting on an observable condition: polled until true, with a deadline that is only a guard
against a test hanging (never a guess at how long something takes)."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 0.02
GUARD_SECONDS = 60.0


class ConditionNotReached(AssertionError):
    """The awaited condition did not come true before the guard's deadline."""


def wait_until(
    condition: Callable[[], bool], what: str, *, guard_seconds: float = GUARD_SECONDS
) -> None:
    """Return as soon as ``condition()`` is true; raise ``ConditionNotReached`` naming ``what``
    if it is still false after ``guard_seconds``."""
    deadline = time.monotonic() + guard_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise ConditionNotReached(f"still waiting for {what} after {guard_seconds:.0f} s")
        time.sleep(POLL_SECONDS)
