"""The warehouse in one DuckDB file.

DuckDB lets one process write a file, and a read-only open fails while another process
writes. So every writer takes an inter-process file lock (``<file>.lock``) and holds the
write connection only for one load. Readers borrow a cursor of the process's shared read-only
database of the file (``duckdb_readers``: opening the file costs tens of milliseconds and
starts with cold caches), or, while a writer holds the lock, open their own connection,
retrying briefly until the load is done. A ``DuckDBWarehouse`` keeps what it got for every
later read until ``close()``; while it is open no other process can write, so keep such
objects short-lived (a portal request opens one and closes it). A writer in this process
closes the process's readers of the same file first (they reopen on their next read).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import filelock
import pyarrow as pa

from warehouse.duckdb_readers import SharedReadDatabase, shared_database
from warehouse.migrations import upgrade_plan
from warehouse.stats_loader import (
    Incoming,
    LoadResult,
    RunStatement,
    Slice,
    SliceLoad,
    Warehouse,
    WarehouseBusyError,
    WarehouseError,
    bind,
    prepare_slice,
    replace_slice,
)
from warehouse.stats_schema import SELECT_SCHEMA_VERSION, schema_outdated

READ_THREADS = 1
# A write connection runs on one thread: the run's other threads (fetching, parsing) use the
# other cores, and DuckDB's parallel insert of an Arrow slice cost ~2.5x the CPU of a serial
# one for no shorter load on two cores.
WRITE_THREADS = 1
# No checkpoint at a commit: the connection's close checkpoints once for all its loads (a
# checkpoint rewrites the table's last, partly filled row group, so one per customer of a
# backfill cost more than writing the rows). Each commit is still durable in the WAL.
WRITE_CHECKPOINT_THRESHOLD = "16GB"
# Rows per row group of what the write connection stores. DuckDB writes a transaction's
# appends straight into the file, compressed, once they fill row groups; anything smaller goes
# to the WAL at commit and is written a second time, compressed, by the checkpoint on close. A
# backfill's customer slice (~70k rows for two years) is below DuckDB's default row group
# (122,880 rows), so every row was written twice; at 16,384 all but the last part-filled group
# is written once: the write path of a 20-customer backfill took ~27 % less time and CPU
# (docs/benchmarks.md, session 7). The size is the write connection's, not the file's: readers
# read row groups of any size, and a file written before keeps its larger ones.
WRITE_ROW_GROUP_SIZE = 16_384
# The catalog name the write connection attaches the file under (and makes the default).
_WRITE_CATALOG = "warehouse"
_LOCK_CONFLICTS = ("Could not set lock", "different configuration", "already attached")

# Every DuckDBWarehouse of this process, by file: a writer closes their read connections first
# (DuckDB refuses a read-write open of a file this process has open read-only).
_READERS: dict[Path, weakref.WeakSet[DuckDBWarehouse]] = {}
_READERS_LOCK = threading.Lock()


class DuckDBWarehouse(Warehouse):
    """The warehouse in the DuckDB file ``path``; safe to share between processes."""

    dialect = "duckdb"

    def __init__(
        self,
        path: Path,
        *,
        read_attempts: int = 50,
        write_attempts: int = 600,
        retry_delay: float = 0.1,
        lock_timeout: float = 900.0,
    ) -> None:
        self.path = path
        self.lock_path = write_lock_path(path)
        self.read_attempts = read_attempts
        self.write_attempts = write_attempts
        self.retry_delay = retry_delay
        self.lock_timeout = lock_timeout
        self._lock = filelock.FileLock(self.lock_path, timeout=lock_timeout)
        self._reader: duckdb.DuckDBPyConnection | None = None
        self._shared: SharedReadDatabase = shared_database(path, self.lock_path)
        self._borrowed = False  # whether _reader is a cursor of the shared database
        self._reader_lock = threading.RLock()  # one query at a time on the shared connection
        with _READERS_LOCK:
            _READERS.setdefault(path.resolve(), weakref.WeakSet()).add(self)

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({str(self.path)!r})"

    def close(self) -> None:
        """Close the read connection, if one is open (the next read opens another)."""
        with self._reader_lock:
            if self._reader is not None:
                reader, self._reader = self._reader, None
                if self._borrowed:
                    self._shared.give_back(reader)
                else:
                    reader.close()

    def ensure_schema(self) -> None:
        """Create the schema if the file is new, or bring it forward step by step if it is older
        than this code (under the write lock; one transaction per step)."""
        if self.path.exists() and not schema_outdated(self._stored_version()):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._write_connection() as con:
            found = _stored_version(con)
            if not schema_outdated(found):
                return  # another process created it while we waited for the lock
            for step in upgrade_plan(found, "duckdb"):
                con.begin()
                try:
                    for statement in step.with_version():
                        con.execute(statement)
                    con.commit()
                except BaseException:
                    con.rollback()
                    raise

    def read(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        """Run one query on this object's read-only connection (opened on first use, retrying
        while a writer holds the file)."""
        bound = bind(sql, params)
        with self._read_connection() as con:
            relation = con.sql(sql, params=bound or None)
            if relation is None:
                return pa.table({})
            table: pa.Table = relation.to_arrow_table()
            return table

    @contextmanager
    def _write_transaction(
        self, incoming: Incoming, params: Mapping[str, object]
    ) -> Iterator[RunStatement]:
        with self._write_connection() as con, _transaction(con, incoming, params) as run:
            yield run

    def load_slices(self, slices: Sequence[Slice]) -> list[LoadResult | Exception]:
        """As ``Warehouse.load_slices``, on one write connection: for a daily run's small
        slices, connecting and closing (DuckDB checkpoints on close) cost more than the
        statements. Each slice still commits or rolls back alone; the write lock is held for
        the whole list, so callers keep it short (the portal's readers wait for it)."""
        results: dict[int, LoadResult | Exception] = {}
        loads: dict[int, SliceLoad] = {}
        for index, one in enumerate(slices):
            try:
                loads[index] = prepare_slice(*one.range, one.table, **one.stamps)
            except ValueError as exc:
                results[index] = exc
        if loads:
            try:
                with self._write_connection() as con:
                    for index, load in loads.items():
                        results[index] = _load_on(con, load)
            except WarehouseError as exc:  # no write connection: the slices not written fail
                for index in loads.keys() - results.keys():
                    results[index] = exc
        return [results[index] for index in range(len(slices))]

    def _stored_version(self) -> int | None:
        with self._read_connection() as con:
            return _stored_version(con)

    @contextmanager
    def _read_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This object's read connection (a borrowed cursor or its own), one query at a time."""
        with self._reader_lock:
            if self._reader is None:
                cursor = self._shared.lend(self._open_reader)
                self._borrowed = cursor is not None
                self._reader = cursor if cursor is not None else self._open_reader()
            yield self._reader

    def _open_reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection of its own (retrying while a writer holds the file)."""
        con = self._connect(read_only=True, attempts=self.read_attempts)
        try:
            con.execute("SET TimeZone = 'UTC'")
            # Report queries are small; under concurrent page loads, intra-query threads
            # only fight each other for the machine's cores.
            con.execute(f"SET threads = {READ_THREADS}")
        except BaseException:
            con.close()
            raise
        return con

    @contextmanager
    def _write_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        _close_readers(self.path)  # never wait for the lock while holding a reader: deadlock
        try:
            self._lock.acquire()
        except filelock.Timeout as exc:
            raise WarehouseBusyError(
                f"another process held the warehouse write lock {self.lock_path} for "
                f"{self.lock_timeout:.0f}s; wait for its load to finish and try again "
                "(the lock frees itself when that process exits)"
            ) from exc
        try:
            _close_readers(self.path)
            self._shared.close_if_unused()
            con = self._connect(read_only=False, attempts=self.write_attempts)
            try:
                con.execute("SET TimeZone = 'UTC'")
                con.execute(f"SET threads = {WRITE_THREADS}")
                con.execute(f"SET checkpoint_threshold = '{WRITE_CHECKPOINT_THRESHOLD}'")
                yield con
            finally:
                con.close()
        finally:
            self._lock.release()

    def _connect(self, *, read_only: bool, attempts: int) -> duckdb.DuckDBPyConnection:
        for attempt in range(1, attempts + 1):
            try:
                if read_only:
                    return duckdb.connect(str(self.path), read_only=True)
                return _attach_for_writing(self.path)
            except (
                duckdb.IOException,
                duckdb.ConnectionException,
                duckdb.ResourceInUseException,  # this process has the file open elsewhere
            ) as exc:
                if not any(marker in str(exc) for marker in _LOCK_CONFLICTS):
                    raise
                if attempt == attempts:
                    waited = attempts * self.retry_delay
                    raise WarehouseBusyError(
                        f"the warehouse file {self.path} stayed locked by another process for "
                        f"{waited:.1f}s (a load is probably running); try again in a minute"
                    ) from exc
                time.sleep(self.retry_delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _attach_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the file ``path`` that stores row groups of
    ``WRITE_ROW_GROUP_SIZE`` rows (a setting of ATTACH only, so the file is attached to an
    in-memory database and made the default catalog; closing the connection checkpoints it)."""
    con = duckdb.connect()
    try:
        quoted = str(path).replace("'", "''")
        con.execute(
            f"ATTACH '{quoted}' AS {_WRITE_CATALOG} (ROW_GROUP_SIZE {WRITE_ROW_GROUP_SIZE})"
        )
        con.execute(f"USE {_WRITE_CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def _transaction(
    con: duckdb.DuckDBPyConnection, incoming: Incoming, params: Mapping[str, object]
) -> Iterator[RunStatement]:
    """One transaction on the write connection ``con`` with ``incoming`` registered."""

    def run(statement: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = con.execute(
            statement, bind(statement, params) or None
        ).fetchall()
        return rows

    con.register(incoming.name, incoming.table)
    con.begin()
    try:
        yield run
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.unregister(incoming.name)


def _load_on(con: duckdb.DuckDBPyConnection, load: SliceLoad) -> LoadResult | Exception:
    """``load`` in its own transaction on ``con``: its result, or the error it failed with."""
    try:
        with _transaction(con, load.incoming(), load.params()) as run:
            return replace_slice(load, run)
    except WarehouseError as exc:
        return exc
    except Exception as exc:
        return load.failed(exc)


def write_lock_path(path: Path) -> Path:
    """The inter-process lock file every writer of the DuckDB file ``path`` holds."""
    return path.with_name(path.name + ".lock")


def _close_readers(path: Path) -> None:
    """Close this process's read connections to ``path`` (each waits for its running query)."""
    with _READERS_LOCK:
        readers = list(_READERS.get(path.resolve(), ()))
    for reader in readers:
        reader.close()


def _stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    # One query, not an information_schema lookup first: every short-lived reader (a portal
    # page) runs this. fetchall, not fetchone: the connection may serve more queries.
    try:
        rows = con.execute(SELECT_SCHEMA_VERSION).fetchall()
    except duckdb.CatalogException:
        return None  # a new, empty file: no warehouse_meta table yet
    return int(rows[0][0]) if rows else None
