"""The portal's cache of warehouse answers: an answer is served again while the customers'
load generations are unchanged, read afresh after any load of one of them, and every answer
read while loads run is one the warehouse held (the latest once they stop)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from authorize_app.portal.report_cache import ReportCache
from tests.warehouse.conftest import StatFactory
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import daily_trend

START, END = date(2024, 3, 1), date(2024, 3, 7)
FETCHED = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)
REPORTED = ["c1", "c2"]


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    with open_warehouse(warehouse_url) as wh:
        for customer in (*REPORTED, "c3"):
            load(wh, customer, seed=0)
        yield wh


def load(wh: Warehouse, customer_id: str, *, seed: int) -> None:
    table: pa.Table = StatFactory().slice_table(customer_id, START, END, seed=seed)
    wh.load_slice(customer_id, START, END, table, run_id="run", fetched_at=FETCHED)


def trend(wh: Warehouse) -> pa.Table:
    return daily_trend(wh, REPORTED, START, END)


def test_an_answer_is_served_again_while_its_customers_are_not_loaded(
    warehouse: Warehouse,
) -> None:
    cache = ReportCache()
    first = cache.reads(warehouse, REPORTED)(daily_trend, START, END)
    load(warehouse, "c3", seed=5)  # not in the report
    again = cache.reads(warehouse, REPORTED)(daily_trend, START, END)

    assert (cache.misses, cache.hits) == (1, 1)
    assert again.equals(first)


def test_a_load_of_a_customer_in_the_report_makes_the_next_answer_fresh(
    warehouse: Warehouse,
) -> None:
    cache = ReportCache()
    before = cache.reads(warehouse, REPORTED)(daily_trend, START, END)
    load(warehouse, "c2", seed=11)
    after = cache.reads(warehouse, REPORTED)(daily_trend, START, END)

    assert not after.equals(before)
    assert after.equals(trend(warehouse))


def test_every_answer_read_while_loads_run_is_one_the_warehouse_held(
    warehouse_url: str, warehouse: Warehouse
) -> None:
    held = {}
    for seed in (1, 2):
        load(warehouse, "c1", seed=seed)
        held[seed] = trend(warehouse).to_pylist()
    cache = ReportCache()
    loads = 6
    done = threading.Event()
    failures: list[BaseException] = []

    def loader() -> None:
        try:
            with open_warehouse(warehouse_url) as writer:
                for i in range(loads):
                    load(writer, "c1", seed=1 + i % 2)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=loader)
    thread.start()
    seen = []
    while not done.is_set():
        with open_warehouse(warehouse_url) as reader:
            seen.append(cache.reads(reader, REPORTED)(daily_trend, START, END).to_pylist())
    thread.join()
    with open_warehouse(warehouse_url) as reader:
        final = cache.reads(reader, REPORTED)(daily_trend, START, END).to_pylist()

    assert failures == []
    assert seen and all(answer in (held[1], held[2]) for answer in seen)
    assert final == held[1 + (loads - 1) % 2]  # the last load's figures, not a cached older one


def test_rows_named_after_customers_follow_a_rename_without_a_load(warehouse: Warehouse) -> None:
    cache = ReportCache()

    def first_customer(record: Mapping[str, Any], names: Mapping[str, str]) -> str:
        return names["c1"]

    before = cache.reads(warehouse, REPORTED).named_rows(
        daily_trend, first_customer, {"c1": "Alfa", "c2": "Beta"}, START, END
    )
    renamed = cache.reads(warehouse, REPORTED).named_rows(
        daily_trend, first_customer, {"c1": "Alfa Ogrody", "c2": "Beta"}, START, END
    )

    assert set(before) == {"Alfa"} and set(renamed) == {"Alfa Ogrody"}


def test_the_least_recently_used_answers_go_once_the_rows_exceed_the_budget(
    warehouse: Warehouse,
) -> None:
    one_answer = trend(warehouse).num_rows
    cache = ReportCache(capacity_rows=2 * one_answer)
    reads = cache.reads(warehouse, REPORTED)
    for day in (date(2024, 3, 6), date(2024, 3, 5), date(2024, 3, 4)):  # 6, 5 and 4 rows
        reads(daily_trend, START, END)  # kept fresh
        reads(daily_trend, START, day)

    assert cache.rows <= 2 * one_answer
    hits = cache.hits
    reads(daily_trend, START, END)
    assert cache.hits == hits + 1  # the most recently used is still there
