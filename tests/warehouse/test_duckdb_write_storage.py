"""How the DuckDB write connection stores a load: a slice larger than a row group is written
straight into the file in row groups of the write connection's size (not to the WAL and again
at the checkpoint), and such a slice, once committed, stays even if the writer dies before its
connection closes and checkpoints.

Row groups of 2,048 rows (DuckDB's smallest) stand in for ``WRITE_ROW_GROUP_SIZE`` so that a
few thousand rows span several of them. The dying writer runs in a ``spawn`` child.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pytest

from testing.stat_tables import table_rows
from warehouse import duckdb_warehouse
from warehouse.backends import duckdb_path, open_warehouse
from warehouse.duckdb_warehouse import DuckDBWarehouse
from warehouse.stats_loader import LoadResult, Slice

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

START, END = date(2024, 1, 1), date(2024, 12, 31)
FETCHED = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
SMALL_ROW_GROUP = 2_048
SPAWN = multiprocessing.get_context("spawn")


def _year(factory: StatFactory, customer_id: str) -> pa.Table:
    """20 ads x 366 days: 7,320 rows, more than three small row groups."""
    return factory.slice_table(customer_id, START, END, campaigns=4, ads_per_campaign=5)


def _row_group_sizes(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT row_group_id, MAX(count) FROM pragma_storage_info('ad_daily_stats') "
            "GROUP BY row_group_id ORDER BY row_group_id"
        ).fetchall()
    return [int(count) for _, count in rows]


def _load_then_die(url: str, slices: Sequence[Slice]) -> None:
    """Child: write ``slices`` on one write connection, and exit abruptly (no rollback, no
    close, so no checkpoint) as the second slice's write begins."""
    duckdb_warehouse.WRITE_ROW_GROUP_SIZE = SMALL_ROW_GROUP
    real_load_on = duckdb_warehouse._load_on
    loaded = 0

    def load_on(con: duckdb.DuckDBPyConnection, load: object) -> LoadResult | Exception:
        nonlocal loaded
        if loaded == 1:
            os._exit(0)  # the first slice is committed, its connection still open
        loaded += 1
        return real_load_on(con, load)  # type: ignore[arg-type]

    duckdb_warehouse._load_on = load_on  # type: ignore[assignment]  # a process of its own
    DuckDBWarehouse(duckdb_path(url)).load_slices(slices)


def test_a_slice_larger_than_a_row_group_is_stored_in_row_groups_of_the_write_size(
    duckdb_url: str, factory: StatFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duckdb_warehouse, "WRITE_ROW_GROUP_SIZE", SMALL_ROW_GROUP)
    table = _year(factory, "c")
    with open_warehouse(duckdb_url) as wh:
        wh.load_slice("c", START, END, table, run_id="r", fetched_at=FETCHED)

    sizes = _row_group_sizes(duckdb_path(duckdb_url))

    assert sum(sizes) == table.num_rows
    assert max(sizes) <= SMALL_ROW_GROUP
    assert len(sizes) >= table.num_rows // SMALL_ROW_GROUP


def test_a_committed_slice_stays_when_the_writer_dies_before_closing_its_connection(
    duckdb_url: str, factory: StatFactory
) -> None:
    with open_warehouse(duckdb_url) as wh:
        wh.ensure_schema()
    first, second = _year(factory, "first"), _year(factory, "second")
    slices = [
        Slice("first", START, END, first, "r", FETCHED),
        Slice("second", START, END, second, "r", FETCHED),
    ]
    child = SPAWN.Process(target=_load_then_die, args=(duckdb_url, slices))
    child.start()
    child.join(120)
    path = duckdb_path(duckdb_url)

    assert child.exitcode == 0
    assert path.with_name(path.name + ".wal").exists()  # committed, never checkpointed
    with open_warehouse(duckdb_url) as wh:
        assert table_rows(wh, "first", START, END).num_rows == first.num_rows
        assert table_rows(wh, "second", START, END).num_rows == 0
