"""Run one piece of work per item on a bounded pool, handing results over as they finish."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def fan_out(
    work: Callable[[Item], Result],
    items: Iterable[Item],
    *,
    concurrency: int,
    thread_name_prefix: str,
) -> Iterator[Result]:
    """``work(item)`` for every item on ``concurrency`` threads, each result yielded (in the
    calling thread) as it finishes.

    At most ``concurrency`` items are under way, the one the caller is handling included: the
    next item starts only when the caller asks for the next result, so a slow caller (a
    warehouse write) holds the work back instead of letting results pile up in memory. Nothing
    here keeps a result once it is yielded. ``work`` should capture its own failures: an
    exception it raises ends the iteration.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    waiting = iter(items)
    with ThreadPoolExecutor(concurrency, thread_name_prefix=thread_name_prefix) as pool:

        def start(count: int) -> set[Future[Result]]:
            return {pool.submit(work, item) for item in itertools.islice(waiting, count)}

        running = start(concurrency)
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            finished = [future.result() for future in done]
            del done  # a finished future holds its result too
            while finished:
                yield finished.pop()
                running |= start(1)
