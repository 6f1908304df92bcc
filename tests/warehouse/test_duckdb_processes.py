"""DuckDB's one-writer rule across processes: writers queue on the file lock, readers retry.

Child processes are started with ``spawn`` (as Dagster's run workers are), so nothing is
shared with the test process but the file.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, date, datetime
from multiprocessing.synchronize import Event
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pytest

from testing.stat_tables import table_rows
from warehouse.backends import duckdb_path, open_warehouse
from warehouse.duckdb_warehouse import DuckDBWarehouse
from warehouse.stats_loader import WarehouseBusyError

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from tests.warehouse.conftest import StatFactory

START, END = date(2024, 1, 1), date(2024, 1, 31)
FETCHED = datetime(2024, 2, 1, 6, 0, tzinfo=UTC)
SPAWN = multiprocessing.get_context("spawn")
HOLD_AT_MOST = 120.0  # a writer child lets go when told; this only guards against a hang


def _load_repeatedly(
    url: str, customer_id: str, table: pa.Table, go: Event, results: Queue[str]
) -> None:
    """Child: wait for the signal, then load the same slice twice."""
    go.wait(30)
    try:
        wh = open_warehouse(url)
        for _ in range(2):
            wh.load_slice(customer_id, START, END, table, run_id=customer_id, fetched_at=FETCHED)
        results.put(f"{customer_id}: ok")
    except Exception as exc:
        results.put(f"{customer_id}: {type(exc).__name__}: {exc}")


def _hold_the_writer(url: str, holding: Event, release: Event) -> None:
    """Child: hold the write connection, as a long load would, until ``release``."""
    wh = DuckDBWarehouse(duckdb_path(url))
    with wh._write_connection():
        holding.set()
        release.wait(HOLD_AT_MOST)


def _release_after_refusals(monkeypatch: pytest.MonkeyPatch, refusals: int, release: Event) -> None:
    """Set ``release`` once this process's ``duckdb.connect`` was refused ``refusals`` times
    (the file locked by another process): the reader has provably been retrying meanwhile."""
    real_connect = duckdb.connect
    refused = 0

    def counting(database: str, read_only: bool = False, **kwargs: Any) -> Any:
        nonlocal refused
        try:
            return real_connect(database, read_only=read_only, **kwargs)
        except (duckdb.IOException, duckdb.ConnectionException):
            refused += 1
            if refused == refusals:
                release.set()
            raise

    monkeypatch.setattr(duckdb, "connect", counting)


def test_two_processes_loading_different_customers_concurrently_both_succeed(
    duckdb_url: str, factory: StatFactory
) -> None:
    open_warehouse(duckdb_url).close()
    tables = {
        c: factory.slice_table(c, START, END, campaigns=10, ads_per_campaign=10, seed=i)
        for i, c in enumerate(("cust-a", "cust-b"))
    }
    go, results = SPAWN.Event(), SPAWN.Queue()
    children = [
        SPAWN.Process(target=_load_repeatedly, args=(duckdb_url, c, t, go, results))
        for c, t in tables.items()
    ]
    for child in children:
        child.start()

    go.set()
    outcomes = sorted(results.get(timeout=60) for _ in children)
    for child in children:
        child.join(10)

    assert outcomes == ["cust-a: ok", "cust-b: ok"]
    wh = open_warehouse(duckdb_url)
    for customer, table in tables.items():
        assert table_rows(wh, customer, START, END).num_rows == table.num_rows == 3100


def test_a_reader_during_a_write_succeeds_after_retrying(
    duckdb_url: str, factory: StatFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = open_warehouse(duckdb_url)
    assert isinstance(wh, DuckDBWarehouse)
    wh.load_slice(
        "c",
        START,
        START,
        factory.table("c", [factory.row(day=START)]),
        run_id="r",
        fetched_at=FETCHED,
    )
    holding, release = SPAWN.Event(), SPAWN.Event()
    writer = SPAWN.Process(target=_hold_the_writer, args=(duckdb_url, holding, release))
    writer.start()
    assert holding.wait(30)
    # Refused four times, 0.1 s apart: the reader has retried for more than 0.3 s when the
    # writer lets go. Reads may retry far longer than a loaded machine could need to let go.
    _release_after_refusals(monkeypatch, 4, release)
    wh.read_attempts = int(HOLD_AT_MOST / wh.retry_delay)

    began = time.monotonic()
    rows = table_rows(wh, "c", START, START).num_rows
    waited = time.monotonic() - began
    writer.join(10)

    assert rows == 1
    assert waited > 0.3  # it could only read once the writer let go


def test_a_reader_gives_up_after_bounded_retries_with_a_clear_error(duckdb_url: str) -> None:
    writer = DuckDBWarehouse(duckdb_path(duckdb_url))
    impatient = DuckDBWarehouse(duckdb_path(duckdb_url), read_attempts=3, retry_delay=0.05)
    writer.ensure_schema()

    with (
        writer._write_connection(),
        pytest.raises(WarehouseBusyError, match=r"stayed locked .* try again in a minute"),
    ):
        impatient.read("SELECT COUNT(*) AS n FROM ad_daily_stats")
