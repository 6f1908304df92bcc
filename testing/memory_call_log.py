"""A call-log sink that keeps every call in memory, for tests and benchmarks to inspect."""

from __future__ import annotations

import threading

from allegro_resource.calllog import ApiCall


class MemoryCallLog:
    """Keeps calls in memory; thread-safe like every sink."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[ApiCall] = []

    def record(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)

    def snapshot(self) -> list[ApiCall]:
        """The calls so far, as a list of their own."""
        with self._lock:
            return list(self.calls)
