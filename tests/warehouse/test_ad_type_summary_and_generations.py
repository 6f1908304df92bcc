"""Schema 5: ``ad_type_day_totals`` (the facts summed per customer, ad type and day, with the
day's peak reach) kept in step by every load, and ``load_generations``, each customer's load
counter; a version-4 warehouse with data is upgraded in place (summary filled from its facts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from allegro_resource.models import AdType
from tests.warehouse.test_warehouse_migrations import raw_database
from warehouse import migrations
from warehouse.backends import open_warehouse
from warehouse.stats_loader import LoadError, Warehouse
from warehouse.stats_queries import load_generations
from warehouse.stats_schema import AD_TYPE_SUMMARY_GROUP, SUMMARY_METRICS

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

START, END = date(2024, 3, 1), date(2024, 3, 10)
FETCHED = datetime(2024, 3, 20, 6, 0, tzinfo=UTC)
COLUMNS = (*AD_TYPE_SUMMARY_GROUP, *SUMMARY_METRICS, "peak_unique_reach")
ORDER = ", ".join(AD_TYPE_SUMMARY_GROUP)
# The same sums computed from the facts directly: what the summary must always equal.
FROM_FACTS = f"""
SELECT {ORDER}, {", ".join(f"SUM({m}) AS {m}" for m in SUMMARY_METRICS)},
       MAX(unique_reach) AS peak_unique_reach
FROM ad_daily_stats GROUP BY {ORDER} ORDER BY {ORDER}"""  # noqa: S608 - constants only
SUMMARY = f"SELECT {', '.join(COLUMNS)} FROM ad_type_day_totals ORDER BY {ORDER}"  # noqa: S608


def _stats(factory: StatFactory, customer_id: str, *, seed: int = 0) -> pa.Table:
    """Both ad types; graphic ads with a reach that differs per ad and day."""
    rows = [
        replace(row, unique_reach=row.views // 3 + len(row.ad_id))
        if row.ad_type is AdType.GRAPHIC_AD
        else row
        for row in factory.rows(START, END, seed=seed)
    ]
    return factory.table(customer_id, rows)


def _load(wh: Warehouse, customer_id: str, table: pa.Table) -> None:
    wh.load_slice(customer_id, START, END, table, run_id="run", fetched_at=FETCHED)


def test_the_ad_type_summary_equals_the_facts_summed_after_loads_and_reloads(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load(warehouse, "c1", _stats(factory, "c1"))
    _load(warehouse, "c2", _stats(factory, "c2", seed=3))
    _load(warehouse, "c1", _stats(factory, "c1", seed=7))  # a reload with other figures

    summary = warehouse.read(SUMMARY).to_pylist()
    facts = warehouse.read(FROM_FACTS).to_pylist()
    assert {r["ad_type"] for r in summary} == {"SPONSORED_OFFER", "GRAPHIC_AD"}
    assert [tuple(r.values()) for r in summary] == [tuple(r.values()) for r in facts]


def test_every_load_of_a_customer_gives_it_a_new_generation_and_no_one_else(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    seen = [load_generations(warehouse, ["c1", "c2"])]
    for load in (
        lambda: _load(warehouse, "c1", _stats(factory, "c1")),
        lambda: _load(warehouse, "c1", _stats(factory, "c1", seed=1)),
        lambda: _load(warehouse, "c2", _stats(factory, "c2")),
        lambda: warehouse.load_offers("c2", _offers(), FETCHED),
    ):
        load()
        seen.append(load_generations(warehouse, ["c1", "c2"]))

    assert seen[0] == {"c1": 0, "c2": 0}
    changed = [
        sorted(c for c in ("c1", "c2") if after[c] != before[c]) for before, after in pairwise(seen)
    ]
    assert changed == [["c1"], ["c1"], ["c2"], ["c2"]]
    assert len({s["c1"] for s in seen}) == 3 and len({s["c2"] for s in seen}) == 3


def test_a_restored_warehouse_never_gives_a_customer_a_generation_seen_before(
    warehouse_url: str, factory: StatFactory
) -> None:
    with open_warehouse(warehouse_url) as wh:
        _load(wh, "c1", _stats(factory, "c1"))
        copied = load_generations(wh, ["c1"])["c1"]
        _load(wh, "c1", _stats(factory, "c1", seed=1))
        seen_by_the_portal = load_generations(wh, ["c1"])["c1"]
    # Restored from a copy taken after the first load: the generation goes back to that one.
    with raw_database(warehouse_url) as raw:
        raw.run(f"UPDATE load_generations SET generation = {int(copied)} WHERE customer_id = 'c1'")  # noqa: S608

    with open_warehouse(warehouse_url) as wh:
        _load(wh, "c1", _stats(factory, "c1", seed=2))
        after_restore = load_generations(wh, ["c1"])["c1"]

    # A counter would reach seen_by_the_portal again, with other data behind it.
    assert after_restore not in {copied, seen_by_the_portal}


def test_a_load_that_fails_leaves_the_generation_as_it_was(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load(warehouse, "c1", _stats(factory, "c1"))
    before = load_generations(warehouse, ["c1"])
    doubled = pa.concat_tables([_stats(factory, "c1"), _stats(factory, "c1")])  # repeated keys
    with pytest.raises(LoadError, match="changed nothing"):
        _load(warehouse, "c1", doubled)

    assert load_generations(warehouse, ["c1"]) == before


def _offers() -> pa.Table:
    from warehouse.offers_schema import OFFER_INPUT_SCHEMA

    return pa.Table.from_pylist(
        [
            {
                "offer_id": "offer-ad-0-0",
                "name": "Rower",
                "price": None,
                "currency": None,
                "stock_available": 3,
                "stock_sold": 1,
                "status": "ACTIVE",
            }
        ],
        schema=OFFER_INPUT_SCHEMA,
    )


def _as_version_4(url: str) -> None:
    """The warehouse as schema 4 left it: version 5's two tables absent, version 4 recorded
    (version 5 added nothing else)."""
    with raw_database(url) as raw:
        raw.run("DROP TABLE ad_type_day_totals")
        raw.run("DROP TABLE load_generations")
        raw.run("UPDATE warehouse_meta SET value = '4' WHERE key = 'schema_version'")


def test_a_version_4_warehouse_is_upgraded_with_its_summary_filled_from_its_facts(
    warehouse_url: str, factory: StatFactory
) -> None:
    with open_warehouse(warehouse_url) as wh:
        _load(wh, "c1", _stats(factory, "c1"))
        _load(wh, "c2", _stats(factory, "c2", seed=5))
        facts_before = wh.read("SELECT * FROM ad_daily_stats ORDER BY customer_id, ad_id, day")
    _as_version_4(warehouse_url)

    with open_warehouse(warehouse_url) as wh:
        version = wh.read("SELECT value FROM warehouse_meta").to_pylist()
        assert version == [{"value": "5"}]
        assert wh.read(SUMMARY).to_pylist() == wh.read(FROM_FACTS).to_pylist()
        assert wh.read("SELECT * FROM ad_daily_stats ORDER BY customer_id, ad_id, day").equals(
            facts_before
        )
        assert load_generations(wh, ["c1", "c2"]) == {"c1": 0, "c2": 0}
        _load(wh, "c1", _stats(factory, "c1", seed=9))
        after = load_generations(wh, ["c1", "c2"])
        assert after["c1"] != 0 and after["c2"] == 0
        assert wh.read(SUMMARY).to_pylist() == wh.read(FROM_FACTS).to_pylist()


def test_a_failing_version_5_step_leaves_the_warehouse_at_version_4_with_its_rows(
    warehouse_url: str, factory: StatFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_warehouse(warehouse_url) as wh:
        _load(wh, "c1", _stats(factory, "c1"))
    _as_version_4(warehouse_url)
    step = migrations.STEPS[-1]
    assert step.version == 5
    broken = replace(step, statements=lambda d: [*step.statements(d), "SELECT * FROM nowhere"])
    monkeypatch.setattr(migrations, "STEPS", (*migrations.STEPS[:-1], broken))

    with pytest.raises(Exception, match="nowhere"):
        open_warehouse(warehouse_url)

    with raw_database(warehouse_url) as raw:
        assert raw.run("SELECT value FROM warehouse_meta") == [("4",)]
        assert raw.run("SELECT COUNT(*) FROM ad_daily_stats")[0][0] > 0
    monkeypatch.undo()
    with open_warehouse(warehouse_url) as wh:
        assert wh.read(SUMMARY).to_pylist() == wh.read(FROM_FACTS).to_pylist()
