"""campaign_day_totals: the facts summed per campaign and day, kept in step by every load."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import summary_mismatches
from warehouse.stats_schema import METRIC_COLUMNS

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

START, END = date(2024, 3, 1), date(2024, 3, 14)
FETCHED = datetime(2024, 3, 20, 6, 0, tzinfo=UTC)
Key = tuple[str, str, date, str]


def _load(wh: Warehouse, customer_id: str, start: date, end: date, table: pa.Table) -> None:
    wh.load_slice(customer_id, start, end, table, run_id="run", fetched_at=FETCHED)


def _summary(wh: Warehouse) -> dict[Key, tuple[Any, ...]]:
    table = wh.read("SELECT * FROM campaign_day_totals")
    return {
        (r["customer_id"], r["campaign_id"], r["day"], r["currency"]): tuple(
            r[m] for m in METRIC_COLUMNS
        )
        for r in table.to_pylist()
    }


def _facts_summed(wh: Warehouse) -> dict[Key, tuple[Any, ...]]:
    """The facts summed in Python, independently of the SQL that maintains the summary."""
    sums: dict[Key, list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal(0), 0, Decimal(0)])
    for r in wh.read("SELECT * FROM ad_daily_stats").to_pylist():
        acc = sums[(r["customer_id"], r["campaign_id"], r["day"], r["currency"])]
        for i, name in enumerate(METRIC_COLUMNS):
            acc[i] += r[name]
    return {key: tuple(values) for key, values in sums.items()}


def _assert_in_step(wh: Warehouse) -> None:
    assert _summary(wh) == _facts_summed(wh)
    assert summary_mismatches(wh, date(2000, 1, 1), date(2100, 1, 1)).empty


def test_loads_reloads_and_narrower_reloads_keep_the_summary_equal_to_the_facts(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load(warehouse, "cust-1", START, END, factory.slice_table("cust-1", START, END, campaigns=3))
    _load(warehouse, "cust-2", START, END, factory.slice_table("cust-2", START, END, seed=5))
    _assert_in_step(warehouse)
    assert len(_summary(warehouse)) == 14 * 3 + 14 * 2

    # The same slice again, with other numbers.
    _load(warehouse, "cust-1", START, END, factory.slice_table("cust-1", START, END, seed=9))
    _assert_in_step(warehouse)

    # A narrower reload that drops a campaign and an ad on three days.
    mid, mid_end = date(2024, 3, 5), date(2024, 3, 7)
    narrower = factory.slice_table("cust-1", mid, mid_end, campaigns=1, ads_per_campaign=1, seed=3)
    _load(warehouse, "cust-1", mid, mid_end, narrower)
    _assert_in_step(warehouse)
    days_of_camp_1 = {k[2] for k in _summary(warehouse) if k[:2] == ("cust-1", "camp-1")}
    assert days_of_camp_1.isdisjoint({mid, date(2024, 3, 6), mid_end})

    # A reload with no rows at all empties those days, in the summary too.
    _load(warehouse, "cust-2", START, date(2024, 3, 2), factory.table("cust-2", []))
    _assert_in_step(warehouse)
    assert not [k for k in _summary(warehouse) if k[0] == "cust-2" and k[2] < date(2024, 3, 3)]


def test_summary_mismatches_reports_campaign_days_that_disagree_with_the_facts(
    warehouse: Warehouse, factory: StatFactory, raw_sql: Callable[[str], None]
) -> None:
    _load(warehouse, "cust-1", START, END, factory.slice_table("cust-1", START, END))
    raw_sql(
        "UPDATE campaign_day_totals SET clicks = clicks + 1 "
        "WHERE campaign_id = 'camp-0' AND day = DATE '2024-03-02'"
    )
    raw_sql(
        "DELETE FROM campaign_day_totals WHERE campaign_id = 'camp-1' AND day = DATE '2024-03-03'"
    )

    found = summary_mismatches(warehouse, START, END)

    assert [(r["campaign_id"], r["day"]) for r in found.to_dict("records")] == [
        ("camp-0", date(2024, 3, 2)),
        ("camp-1", date(2024, 3, 3)),
    ]
    first, second = found.to_dict("records")
    assert first["summary_clicks"] == first["facts_clicks"] + 1
    assert pd.isna(second["summary_clicks"])
    assert second["facts_clicks"] > 0
    assert summary_mismatches(warehouse, date(2024, 3, 4), END).empty


def test_upgrading_a_version_2_warehouse_fills_the_summary_from_its_facts(
    warehouse: Warehouse,
    warehouse_url: str,
    factory: StatFactory,
    raw_sql: Callable[[str], None],
) -> None:
    _load(warehouse, "cust-1", START, END, factory.slice_table("cust-1", START, END))
    raw_sql("DELETE FROM campaign_day_totals")  # as a version-2 file: facts, no summary
    raw_sql("UPDATE warehouse_meta SET value = '2' WHERE key = 'schema_version'")

    upgraded = open_warehouse(warehouse_url)
    try:
        _assert_in_step(upgraded)
        assert len(_summary(upgraded)) == 14 * 2
    finally:
        upgraded.close()
