"""Exports of campaign daily data: exact decimals, refused paths, never half-written."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warehouse.export import ExportError, export_campaign_daily
from warehouse.stats_loader import Warehouse

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

FETCHED = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)
D1, D2 = date(2024, 3, 1), date(2024, 3, 2)


@pytest.fixture
def loaded(warehouse: Warehouse, factory: StatFactory) -> Warehouse:
    """Two campaigns of cust-1 over D1..D2, with awkward money, and a cust-2 row."""
    rows = [
        factory.row(day=D1, campaign_id="a", ad_id="1", cost="1234567.89", attributed_value="0.1"),
        factory.row(day=D2, campaign_id="a", ad_id="1", views=0, clicks=0, cost="0.00"),
        factory.row(day=D1, campaign_id="b", ad_id="2", cost="0.05", attributed_value="10.00"),
    ]
    for customer, chosen in (("cust-1", rows), ("cust-2", rows[:1])):
        table = factory.table(customer, chosen)
        warehouse.load_slice(customer, D1, D2, table, run_id="r", fetched_at=FETCHED)
    return warehouse


def _expected(wh: Warehouse) -> pa.Table:
    return wh.read(
        "SELECT * FROM campaign_daily_stats WHERE customer_id = 'cust-1' "
        "ORDER BY customer_id, day, campaign_id"
    )


def test_export_csv_round_trips_decimals_as_plain_strings(
    loaded: Warehouse, tmp_path: Path
) -> None:
    out = tmp_path / "campaigns.csv"

    written = export_campaign_daily(loaded, D1, D2, ["cust-1"], "csv", out)

    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert written == len(rows) == 3
    assert [(r["campaign_id"], r["day"], r["cost"], r["roas"]) for r in rows] == [
        ("a", "2024-03-01", "1234567.89", "0.00"),
        ("b", "2024-03-01", "0.05", "200.00"),
        ("a", "2024-03-02", "0.00", ""),
    ]
    expected = _expected(loaded).to_pylist()
    for row, truth in zip(rows, expected, strict=True):
        for name in ("cost", "attributed_value", "ctr", "cpc", "roas"):
            assert (Decimal(row[name]) if row[name] else None) == truth[name]


def test_export_parquet_round_trips_decimals_as_decimal128(
    loaded: Warehouse, tmp_path: Path
) -> None:
    out = tmp_path / "campaigns.parquet"

    written = export_campaign_daily(loaded, D1, D2, ["cust-1"], "parquet", out)

    back = pq.read_table(out)
    assert written == back.num_rows == 3
    assert back.schema.field("cost").type == pa.decimal128(18, 2)
    assert back.schema.field("ctr").type == pa.decimal128(18, 4)
    assert back.equals(_expected(loaded))


def test_export_refuses_a_directory_or_a_missing_parent(loaded: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="is a directory; give a file path"):
        export_campaign_daily(loaded, D1, D2, ["cust-1"], "csv", tmp_path)
    with pytest.raises(ExportError, match="does not exist; create it first"):
        export_campaign_daily(loaded, D1, D2, ["cust-1"], "csv", tmp_path / "no" / "x.csv")


def test_a_failed_export_leaves_no_file_behind(
    loaded: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "campaigns.parquet"

    def broken_writer(table: pa.Table, where: str) -> None:
        Path(where).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken_writer)
    with pytest.raises(OSError, match="disk full"):
        export_campaign_daily(loaded, D1, D2, ["cust-1"], "parquet", out)

    assert [p.name for p in tmp_path.iterdir() if "campaigns" in p.name] == []
