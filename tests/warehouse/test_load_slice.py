"""load_slice: exact, idempotent, atomic replacement of one customer's days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from testing.stat_tables import table_rows
from warehouse.stats_loader import LoadError, LoadResult, Slice, Warehouse
from warehouse.stats_schema import FACT_SCHEMA

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

START, END = date(2024, 3, 1), date(2024, 3, 7)
FETCHED = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)


def _facts(table: pa.Table) -> pa.Table:
    """The fact columns of a load table, in table_rows' order."""
    facts = table.select(FACT_SCHEMA.names).cast(FACT_SCHEMA)
    return facts.sort_by([("day", "ascending"), ("ad_type", "ascending"), ("ad_id", "ascending")])


def _load(wh: Warehouse, customer_id: str, start: date, end: date, table: pa.Table) -> LoadResult:
    return wh.load_slice(customer_id, start, end, table, run_id="run-1", fetched_at=FETCHED)


def _load_log(wh: Warehouse, customer_id: str) -> list[tuple[date, int]]:
    table = wh.read(
        "SELECT day, rows FROM load_log WHERE customer_id = $c ORDER BY day", {"c": customer_id}
    )
    return list(zip(table["day"].to_pylist(), table["rows"].to_pylist(), strict=True))


def test_load_then_read_back_equals_input_exactly(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    table = factory.slice_table("cust-1", START, END, campaigns=3, ads_per_campaign=3)

    result = _load(warehouse, "cust-1", START, END, table)

    assert result == LoadResult(rows_deleted=0, rows_inserted=table.num_rows, days=7)
    assert table_rows(warehouse, "cust-1", START, END).equals(_facts(table))


def test_extreme_money_values_round_trip_exactly(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    rows = [
        factory.row(ad_id="big", cost="9999999999999999.99", attributed_value="0.01"),
        factory.row(ad_id="tiny", cost="0.01", attributed_value="1234567.89"),
        factory.row(ad_id="zero", views=0, clicks=0, cost="0.00", attributed_value="0"),
    ]
    table = factory.table("cust-1", rows)

    _load(warehouse, "cust-1", START, START, table)

    back = table_rows(warehouse, "cust-1", START, START)
    costs = dict(zip(back["ad_id"].to_pylist(), back["cost"].to_pylist(), strict=True))
    assert costs == {
        "big": Decimal("9999999999999999.99"),
        "tiny": Decimal("0.01"),
        "zero": Decimal("0.00"),
    }
    assert back.equals(_facts(table))


def test_reloading_the_same_slice_is_idempotent(warehouse: Warehouse, factory: StatFactory) -> None:
    table = factory.slice_table("cust-1", START, END)
    _load(warehouse, "cust-1", START, END, table)

    again = _load(warehouse, "cust-1", START, END, table)

    assert again == LoadResult(table.num_rows, table.num_rows, 7)
    assert table_rows(warehouse, "cust-1", START, END).equals(_facts(table))


def test_reloading_a_narrower_slice_replaces_only_those_days(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    old = factory.slice_table("cust-1", START, END, seed=0)
    _load(warehouse, "cust-1", START, END, old)
    middle = (date(2024, 3, 3), date(2024, 3, 4))
    revised = factory.slice_table("cust-1", *middle, seed=5)

    result = _load(warehouse, "cust-1", *middle, revised)

    in_middle = pc.and_(
        pc.greater_equal(old["day"], middle[0]), pc.less_equal(old["day"], middle[1])
    )
    kept = old.filter(pc.invert(in_middle))
    expected = _facts(pa.concat_tables([kept, revised]))
    assert result.rows_deleted == pc.sum(in_middle).as_py()
    assert table_rows(warehouse, "cust-1", START, END).equals(expected)


def test_a_failed_load_leaves_previous_data_intact(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    good = factory.slice_table("cust-1", START, END)
    _load(warehouse, "cust-1", START, END, good)
    log_before = _load_log(warehouse, "cust-1")
    # Half the ads, revised, plus one key twice: the old rows of the other ads are deleted,
    # then writing the duplicate fails, and the transaction must bring everything back.
    new_rows = factory.rows(START, END, seed=3, campaigns=1)
    duplicated = factory.table("cust-1", [*new_rows, new_rows[0]])

    with pytest.raises(LoadError, match="changed nothing"):
        _load(warehouse, "cust-1", START, END, duplicated)

    assert table_rows(warehouse, "cust-1", START, END).equals(_facts(good))
    assert _load_log(warehouse, "cust-1") == log_before


def test_a_table_repeating_a_key_is_refused_on_a_first_load_too(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    rows = factory.rows(START, END, campaigns=1)

    with pytest.raises(LoadError, match="changed nothing"):
        _load(warehouse, "cust-1", START, END, factory.table("cust-1", [*rows, rows[-1]]))

    assert table_rows(warehouse, "cust-1", START, END).num_rows == 0
    assert _load_log(warehouse, "cust-1") == []


def test_load_log_has_every_day_of_the_slice_including_zero_row_days(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    rows = factory.rows(date(2024, 3, 2), date(2024, 3, 3), campaigns=1, ads_per_campaign=2)

    result = _load(warehouse, "cust-1", START, date(2024, 3, 5), factory.table("cust-1", rows))

    assert result.days == 5
    assert _load_log(warehouse, "cust-1") == [
        (date(2024, 3, 1), 0),
        (date(2024, 3, 2), 2),
        (date(2024, 3, 3), 2),
        (date(2024, 3, 4), 0),
        (date(2024, 3, 5), 0),
    ]


def test_an_empty_table_clears_the_slice_and_records_its_days(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load(warehouse, "cust-1", START, END, factory.slice_table("cust-1", START, END))

    result = _load(warehouse, "cust-1", START, END, factory.table("cust-1", []))

    assert result.rows_inserted == 0 and result.rows_deleted > 0
    assert table_rows(warehouse, "cust-1", START, END).num_rows == 0
    assert [rows for _, rows in _load_log(warehouse, "cust-1")] == [0] * 7


def test_the_calls_run_id_and_fetched_at_are_stamped_on_rows_and_log(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    table = factory.table("cust-1", [factory.row()], run_id="stale", fetched_at=FETCHED)
    later = datetime(2024, 3, 11, 8, 0, tzinfo=UTC)

    warehouse.load_slice("cust-1", START, START, table, run_id="run-2", fetched_at=later)

    for relation in ("ad_daily_stats", "load_log"):
        stamped = warehouse.read(f"SELECT DISTINCT run_id, fetched_at FROM {relation}")  # noqa: S608
        assert stamped.to_pylist() == [{"run_id": "run-2", "fetched_at": later}]


def test_rows_outside_the_slice_are_rejected_before_touching_data(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    good = factory.slice_table("cust-1", START, END)
    _load(warehouse, "cust-1", START, END, good)
    spills_over = factory.slice_table("cust-1", date(2024, 3, 6), date(2024, 3, 8))

    with pytest.raises(ValueError, match=r"outside the slice 2024-03-06\.\.2024-03-07"):
        _load(warehouse, "cust-1", date(2024, 3, 6), END, spills_over)

    assert table_rows(warehouse, "cust-1", START, END).equals(_facts(good))


def test_rows_of_another_customer_are_rejected(warehouse: Warehouse, factory: StatFactory) -> None:
    someone_elses = factory.slice_table("cust-2", START, END)

    with pytest.raises(ValueError, match="customer\\(s\\) cust-2"):
        _load(warehouse, "cust-1", START, END, someone_elses)

    assert _load_log(warehouse, "cust-1") == []


def test_loading_one_customer_leaves_other_customers_untouched(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    other = factory.slice_table("cust-2", START, END, seed=1)
    _load(warehouse, "cust-2", START, END, other)

    _load(warehouse, "cust-1", START, END, factory.slice_table("cust-1", START, END))
    _load(warehouse, "cust-1", START, END, factory.table("cust-1", []))

    assert table_rows(warehouse, "cust-2", START, END).equals(_facts(other))


# --- several slices at once (a daily run's) ----------------------------------------------------


def _slice(customer_id: str, table: pa.Table) -> Slice:
    return Slice(customer_id, START, END, table, "run-1", FETCHED)


def test_several_slices_load_at_once_each_as_load_slice_would(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load(warehouse, "cust-1", START, END, factory.table("cust-1", factory.rows(START, END)))
    tables = {
        c: factory.table(c, factory.rows(START, END, campaigns=1)) for c in ("cust-1", "cust-2")
    }

    results = warehouse.load_slices([_slice(c, t) for c, t in tables.items()])

    assert [(r.rows_inserted, r.days) for r in results if isinstance(r, LoadResult)] == [
        (t.num_rows, 7) for t in tables.values()
    ]
    for customer_id, table in tables.items():
        assert table_rows(warehouse, customer_id, START, END).equals(_facts(table))


def test_a_slice_that_fails_among_several_changes_nothing_and_the_others_load(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    kept = factory.table("cust-2", factory.rows(START, END, campaigns=1))
    _load(warehouse, "cust-2", START, END, kept)
    rows = factory.rows(START, END, campaigns=2)
    good = factory.table("cust-1", rows)
    repeating = factory.table("cust-2", [*rows, rows[-1]])  # fails inside its transaction
    outside = factory.table("cust-3", factory.rows(date(2024, 4, 1), date(2024, 4, 1)))

    first, second, third = warehouse.load_slices(
        [_slice("cust-1", good), _slice("cust-2", repeating), _slice("cust-3", outside)]
    )

    assert isinstance(first, LoadResult) and first.rows_inserted == good.num_rows
    assert isinstance(second, LoadError) and "cust-2" in str(second)
    assert isinstance(third, ValueError)
    assert table_rows(warehouse, "cust-1", START, END).equals(_facts(good))
    assert table_rows(warehouse, "cust-2", START, END).equals(_facts(kept))
    assert table_rows(warehouse, "cust-3", START, END).num_rows == 0
