"""fan_out: bounded work on a pool, each result handed over as it finishes."""

from __future__ import annotations

import threading

import pytest

from allegro_resource.fan_out import fan_out


class _Gate:
    """Work that records each start and holds until the test releases it."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, item: int) -> int:
        with self._lock:
            self.started.append(item)
        self.release.wait(timeout=30)
        return item * 10


def test_every_item_is_worked_once_and_handed_over() -> None:
    gate = _Gate()
    gate.release.set()

    results = list(fan_out(gate, range(7), concurrency=3, thread_name_prefix="test"))

    assert sorted(results) == [i * 10 for i in range(7)]
    assert sorted(gate.started) == list(range(7))


def test_the_next_item_starts_only_when_the_caller_asks_for_the_next_result() -> None:
    gate = _Gate()
    results = fan_out(gate, range(6), concurrency=2, thread_name_prefix="test")
    gate.release.set()

    first = next(results)  # the caller now "handles" it: nothing new may start meanwhile

    assert len(gate.started) <= 2
    assert sorted([first, *results]) == [i * 10 for i in range(6)]


def test_a_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next(fan_out(str, [1], concurrency=0, thread_name_prefix="test"))
