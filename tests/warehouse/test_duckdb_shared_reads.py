"""Readers in one process share one open read-only DuckDB database, and give the file up to
writers: at once when a writer waits, after a second when nobody reads.

Writers run in ``spawn`` children, as Dagster's run workers do.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import filelock
import pyarrow as pa
import pytest

from testing.stat_tables import table_rows
from testing.waiting import wait_until
from warehouse import duckdb_readers, duckdb_warehouse
from warehouse.backends import duckdb_path, open_warehouse
from warehouse.duckdb_readers import IDLE_SECONDS, writer_holds_lock
from warehouse.duckdb_warehouse import DuckDBWarehouse

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

    from tests.warehouse.conftest import StatFactory

DAY = date(2024, 1, 1)
FETCHED = datetime(2024, 2, 1, 6, 0, tzinfo=UTC)
SPAWN = multiprocessing.get_context("spawn")


def _load_once(
    url: str, table: pa.Table, attempts: int, results: Queue[str], refused: Event | None = None
) -> None:
    """Child: load one slice, giving up after ``attempts`` tries of 0.1 s to open the file;
    ``refused`` is set when a try finds the file taken by another process."""
    if refused is not None:
        _report_refusals(refused)
    wh = DuckDBWarehouse(duckdb_path(url), write_attempts=attempts)
    try:
        wh.load_slice("c", DAY, DAY, table, run_id="child", fetched_at=FETCHED)
        results.put("ok")
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def _report_refusals(refused: Event) -> None:
    """Set ``refused`` whenever this process's writer finds the file taken when opening it."""
    real_attach = duckdb_warehouse._attach_for_writing

    def reporting(path: Path) -> duckdb.DuckDBPyConnection:
        try:
            return real_attach(path)
        except (duckdb.IOException, duckdb.ConnectionException):
            refused.set()
            raise

    duckdb_warehouse._attach_for_writing = reporting  # a child process of its own


def _count_connects(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record every ``duckdb.connect`` of the warehouse module (its ``read_only`` flag)."""
    opened: list[bool] = []
    real_connect = duckdb.connect

    def counting(database: str, read_only: bool = False, **kwargs: Any) -> Any:
        opened.append(read_only)
        return real_connect(database, read_only=read_only, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    return opened


def _seed(url: str, factory: StatFactory) -> pa.Table:
    wh = open_warehouse(url)
    table = factory.table("c", [factory.row(day=DAY)])
    wh.load_slice("c", DAY, DAY, table, run_id="seed", fetched_at=FETCHED)
    wh.close()
    return table


def test_back_to_back_readers_in_one_process_open_the_file_once(
    duckdb_url: str, factory: StatFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duckdb_readers, "IDLE_SECONDS", 120.0)  # however slow the machine
    _seed(duckdb_url, factory)
    opened = _count_connects(monkeypatch)

    for _ in range(5):  # five portal requests, one after the other
        with open_warehouse(duckdb_url) as wh:
            assert table_rows(wh, "c", DAY, DAY).num_rows == 1

    assert opened == [True]


def test_an_idle_reader_process_lets_another_process_write(
    duckdb_url: str, factory: StatFactory
) -> None:
    table = _seed(duckdb_url, factory)
    with open_warehouse(duckdb_url) as wh:
        table_rows(wh, "c", DAY, DAY)
    results: Queue[str] = SPAWN.Queue()
    # The child tries for ten idle periods (room for a loaded machine's slow idle watcher); a
    # database kept open for good would fail it.
    attempts = int(10 * IDLE_SECONDS / 0.1)
    child = SPAWN.Process(target=_load_once, args=(duckdb_url, table, attempts, results))

    child.start()
    outcome = results.get(timeout=60)
    child.join(10)

    assert outcome == "ok"


def test_a_waiting_writer_gets_the_file_as_soon_as_the_last_reader_closes(
    duckdb_url: str, factory: StatFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Idle closing out of the way: only a waiting writer can make the database close in time.
    monkeypatch.setattr(duckdb_readers, "IDLE_SECONDS", 120.0)
    table = _seed(duckdb_url, factory)
    reader = open_warehouse(duckdb_url)
    table_rows(reader, "c", DAY, DAY)  # holds a cursor of the shared database
    results: Queue[str] = SPAWN.Queue()
    refused = SPAWN.Event()
    child = SPAWN.Process(target=_load_once, args=(duckdb_url, table, 600, results, refused))
    child.start()
    lock = DuckDBWarehouse(duckdb_path(duckdb_url)).lock_path

    # The child holds the write lock and has tried to open the file, and been refused.
    wait_until(lambda: writer_holds_lock(lock), "the child to take the write lock")
    assert refused.wait(60), "the child never tried to open the file"
    assert results.empty()  # a lent cursor keeps the writer out
    reader.close()
    began = time.monotonic()
    outcome = results.get(timeout=60)
    waited = time.monotonic() - began
    child.join(10)

    assert outcome == "ok"
    assert waited < 30


def test_a_writer_holding_the_lock_is_seen_by_the_probe(tmp_path: Path) -> None:
    lock = tmp_path / "warehouse.duckdb.lock"

    with filelock.FileLock(lock):
        assert writer_holds_lock(lock)
    assert not writer_holds_lock(lock)


def test_another_readers_probe_is_not_taken_for_a_writer(tmp_path: Path) -> None:
    lock = tmp_path / "warehouse.duckdb.lock"
    lock.touch()
    probe = os.open(lock, os.O_RDONLY)
    fcntl.flock(probe, fcntl.LOCK_SH)  # another thread's or process's probe, caught mid-way
    try:
        assert not writer_holds_lock(lock)
    finally:
        os.close(probe)
