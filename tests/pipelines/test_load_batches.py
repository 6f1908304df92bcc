"""How a run's converted slices reach the warehouse: several per write connection (each still
its own transaction), up to a bound of customers or rows, so a backfill's large slices share a
connection's closing checkpoint without keeping the portal's readers out for long."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pyarrow as pa

from services import stats_sync
from services.stats_sync import CustomerOutcome
from warehouse.stats_loader import LoadResult, Slice

START, END = date(2024, 1, 1), date(2025, 12, 30)
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)


class RecordingWarehouse:
    """Records the rows of each ``load_slices`` call (one write connection on DuckDB)."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def load_slices(self, slices: Sequence[Slice]) -> list[LoadResult | Exception]:
        self.calls.append([one.table.num_rows for one in slices])
        return [LoadResult(0, one.table.num_rows, 730) for one in slices]


def _slice(customer_id: str, rows: int) -> Slice:
    table = pa.table({"day": pa.repeat(pa.scalar(START), rows)})
    return Slice(customer_id, START, END, table, "run", FETCHED)


def test_a_backfills_large_slices_share_write_connections_up_to_the_row_bound() -> None:
    rows = stats_sync.LOAD_BATCH_ROWS // 3 + 1  # three of them pass the bound
    warehouse = RecordingWarehouse()
    finished: list[CustomerOutcome] = []
    pending = stats_sync._PendingLoads(warehouse, finished.append)  # type: ignore[arg-type]

    for number in range(7):
        pending.add(CustomerOutcome(f"c{number}", f"C{number}"), _slice(f"c{number}", rows))
    pending.load()

    assert warehouse.calls == [[rows] * 3, [rows] * 3, [rows]]
    assert [o.customer_id for o in finished] == [f"c{n}" for n in range(7)]
    assert all(o.ok and o.rows == rows for o in finished)


def test_a_backfill_customer_is_written_in_a_connection_of_several() -> None:
    """A two-year slice of an average customer (~72k rows) no longer gets a connection alone."""
    warehouse = RecordingWarehouse()
    pending = stats_sync._PendingLoads(warehouse, lambda outcome: None)  # type: ignore[arg-type]

    for number in range(4):
        pending.add(CustomerOutcome(f"c{number}", f"C{number}"), _slice(f"c{number}", 72_000))
    pending.load()

    assert warehouse.calls == [[72_000] * 4]
