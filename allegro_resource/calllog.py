"""The record of one HTTP call to Allegro, and where such records go."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One HTTP attempt against Allegro. Never holds a token, a code or a secret."""

    method: str
    endpoint: str  # path only: query strings may carry codes or dates we don't need here
    status: int | None  # None when no answer arrived (connection error, timeout)
    duration_ms: int
    customer_id: str | None = None
    rows: int | None = None
    trace_id: str | None = None
    error: str | None = None
    attempt: int = 1
    run_id: str | None = None
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))


class CallLogSink(Protocol):
    """Receives every call the client makes; must be thread-safe."""

    def record(self, call: ApiCall) -> None: ...


class NullCallLog:
    """Discards calls."""

    def record(self, call: ApiCall) -> None:
        return None


class CallCounter:
    """Counts the calls reported to it, and how many of them were retries (attempt > 1).

    The one counter behind a request's attempt numbers and a customer's figures in a run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.retries = 0

    def record(self, call: ApiCall) -> None:
        with self._lock:
            self.calls += 1
            if call.attempt > 1:
                self.retries += 1


class FanOutCallLog:
    """Sends every call to several sinks (e.g. the control store and a run's counters)."""

    def __init__(self, *sinks: CallLogSink) -> None:
        self.sinks = sinks

    def record(self, call: ApiCall) -> None:
        for sink in self.sinks:
            sink.record(call)
