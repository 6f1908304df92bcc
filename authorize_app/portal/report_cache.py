"""Warehouse answers kept between requests, keyed by the customers' load generations.

A report over some customers reads the same rows until one of them is loaded again; every load
writes a new random generation for that customer in ``load_generations``, in its own
transaction. So an answer is stored under (query, its arguments, the customers' generations)
and served while the generations are unchanged: a load makes the next request read afresh, and
no answer outlives the data it came from. A generation is never written twice (not even by a
warehouse restored from an older copy), so an answer stored under old generations is looked up
only by requests that began before the load committed, which may show the rows before or after
it, as any read does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import pyarrow as pa
from markupsafe import Markup

from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import load_generations

T = TypeVar("T")
R = TypeVar("R")
# Rows kept per process, over all answers (an answer counts its rows, at least 1); the least
# recently used answers go first. A 200-customer report keeps ~7,000 rows (~4 MB); this bounds
# the cache near 100 MB whatever the mix of pages.
CAPACITY_ROWS = 200_000
# A kept piece of HTML counts as one row per this many characters (a table row of a report
# is about that long), so pages and answers share the one budget.
FRAGMENT_CHARS_PER_ROW = 500

Query = Callable[..., T]
Key = tuple[Hashable, ...]


class ReportCache:
    """Answers of warehouse queries, least recently used dropped first; thread-safe."""

    def __init__(self, capacity_rows: int = CAPACITY_ROWS) -> None:
        self.capacity_rows = capacity_rows
        self._answers: OrderedDict[Key, tuple[Any, int]] = OrderedDict()
        self.rows = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def reads(self, wh: Warehouse, customer_ids: Sequence[str]) -> CachedReads:
        """The reads of one request over ``customer_ids``, at their current generations."""
        return CachedReads(self, wh, customer_ids)

    def _get(self, key: Key) -> tuple[bool, Any]:
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                self.hits += 1
                return True, self._answers[key][0]
            self.misses += 1
            return False, None

    def _put(self, key: Key, answer: Any) -> None:
        size = _rows_of(answer)
        with self._lock:
            if key in self._answers:
                self.rows -= self._answers.pop(key)[1]
            self._answers[key] = (answer, size)
            self.rows += size
            while self.rows > self.capacity_rows and len(self._answers) > 1:
                _, (_, dropped) = self._answers.popitem(last=False)
                self.rows -= dropped


def _rows_of(answer: Any) -> int:
    """How many rows an answer holds: an Arrow table's, a list's or a dict's length, a piece of
    HTML's length in rows, else 1."""
    if isinstance(answer, str):
        return max(1, len(answer) // FRAGMENT_CHARS_PER_ROW)
    if isinstance(answer, pa.Table):
        return max(1, int(answer.num_rows))
    if isinstance(answer, list | dict):
        return max(1, len(answer))
    return 1


class CachedReads:
    """``reads(query, *args, **options)``: ``query(wh, customer_ids, *args, **options)``, from
    the cache while the customers' generations are unchanged; ``reads.records(…)``: the same
    answer as a list of row dicts, ``reads.named_rows(…)`` as converted rows (both shared
    between requests: read them, never change them); ``reads.fragment(…)``: a piece of a page
    rendered from such answers."""

    def __init__(self, cache: ReportCache, wh: Warehouse, customer_ids: Sequence[str]) -> None:
        self._cache = cache
        self._wh = wh
        self._ids = tuple(customer_ids)
        self._generations = self._read_generations()

    def __call__(self, query: Query[T], *args: Hashable, **options: Hashable) -> T:
        def unchanged(answer: T) -> T:
            return answer

        return self._answer("table", query, args, options, unchanged)

    def records(
        self, query: Query[pa.Table], *args: Hashable, **options: Hashable
    ) -> list[dict[str, Any]]:
        return self._answer("records", query, args, options, lambda table: table.to_pylist())

    def named_rows(
        self,
        query: Query[pa.Table],
        convert: Callable[[Mapping[str, Any], Mapping[str, str]], R],
        names: Mapping[str, str],
        *args: Hashable,
        **options: Hashable,
    ) -> list[R]:
        """The answer's rows, each ``convert(record, names)`` (the customers' display names
        come from the control store, so they are part of the key)."""
        form = (
            "named",
            f"{convert.__module__}.{convert.__qualname__}",
            tuple(sorted(names.items())),
        )

        def shape(table: pa.Table) -> list[R]:
            return [convert(record, names) for record in table.to_pylist()]

        return self._answer(form, query, args, options, shape)

    def fragment(self, name: str, inputs: Hashable, render: Callable[[], Markup]) -> Markup:
        """``render()``, kept under ``name``, ``inputs`` and the customers' generations.

        For the part of a page that only the warehouse's answers (read through this object)
        and ``inputs`` decide: ``inputs`` must hold everything else it shows (dates, sort,
        the customers' names, the links' common part), and nothing of one session or user
        (CSRF token, e-mail), since every request with equal inputs is served this HTML.
        """
        key = ("fragment", name, self._ids, inputs, self._generations)
        found, html = self._cache._get(key)
        if found:
            return html  # type: ignore[no-any-return]
        fresh = render()
        self._cache._put(key, fresh)
        return fresh

    def _answer(
        self,
        form: Hashable,
        query: Query[Any],
        args: tuple[Hashable, ...],
        options: dict[str, Hashable],
        shape: Callable[[Any], T],
    ) -> T:
        key = (
            form,
            f"{query.__module__}.{query.__qualname__}",
            self._ids,
            args,
            tuple(sorted(options.items())),
            self._generations,
        )
        found, answer = self._cache._get(key)
        if found:
            return answer  # type: ignore[no-any-return]
        fresh: T = shape(query(self._wh, list(self._ids), *args, **options))
        self._cache._put(key, fresh)
        return fresh

    def _read_generations(self) -> tuple[int, ...]:
        if not self._ids:
            return ()
        found = load_generations(self._wh, self._ids)
        return tuple(found[customer_id] for customer_id in self._ids)
