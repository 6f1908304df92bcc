"""Upgrading a warehouse written by schema version 3 in place: every row survives, the new
columns are there (empty for old rows), the offers table and the views work; a failed step
changes nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest

from testing.postgres_databases import connect
from warehouse import migrations, stats_queries
from warehouse.backends import duckdb_path, open_warehouse
from warehouse.duckdb_warehouse import DuckDBWarehouse
from warehouse.stats_schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

START, END = date(2024, 3, 1), date(2024, 3, 7)
# ad_daily_stats as version 3 had it.
V3_FACT_COLUMNS = [
    "customer_id",
    "ads_client_id",
    "ad_type",
    "campaign_id",
    "ad_group_id",
    "ad_id",
    "offer_id",
    "day",
    "views",
    "clicks",
    "interest",
    "cost",
    "attributed_count",
    "attributed_value",
    "api_ctr",
    "api_cpc",
    "api_roas",
    "currency",
    "fetched_at",
    "run_id",
]
# Every table of version 3 in a stable order, to compare its rows before and after.
V3_TABLES = {
    "ad_daily_stats": "customer_id, ad_type, ad_id, day",
    "campaigns": "customer_id, campaign_id",
    "ad_groups": "customer_id, ad_group_id",
    "ads": "customer_id, ad_type, ad_id",
    "load_log": "customer_id, day",
    "campaign_day_totals": "customer_id, campaign_id, day",
}


class RawDatabase:
    """A plain connection to the warehouse's database, behind the warehouse code's back."""

    def __init__(self, dialect: str, con: Any) -> None:
        self.dialect = dialect
        self._con = con

    def run(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if self.dialect == "duckdb":
            return list(self._con.execute(sql, list(params) or None).fetchall())
        with self._con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), tuple(params) or None)
            return list(cur.fetchall()) if cur.description is not None else []

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        names = list(rows[0])
        marks = ", ".join("?" * len(names))
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608
        for row in rows:
            self.run(sql, [row[name] for name in names])


@contextmanager
def raw_database(url: str) -> Iterator[RawDatabase]:
    """A read-write connection; for DuckDB under the write lock, this process's readers of the
    file closed first (DuckDB refuses a read-write open next to a read-only one)."""
    if url.startswith("duckdb:"):
        with DuckDBWarehouse(duckdb_path(url))._write_connection() as con:
            yield RawDatabase("duckdb", con)
        return
    conn = connect(url)
    try:
        yield RawDatabase("postgresql", conn)
    finally:
        conn.close()


def write_version_3_warehouse(url: str, facts: pa.Table) -> None:
    """A warehouse as version 3 of the code left it: its frozen DDL, the facts, their dimensions
    and load log, the summary filled from the facts, version 3 recorded."""
    with raw_database(url) as raw:
        statements = migrations.version_3_statements(raw.dialect)  # type: ignore[arg-type]
        for statement in statements:
            raw.run(statement)
        rows = facts.select(V3_FACT_COLUMNS).to_pylist()
        raw.insert("ad_daily_stats", rows)
        raw.insert("campaigns", _dimension(facts, ("customer_id", "campaign_id"), "campaign_name"))
        raw.insert("ad_groups", _dimension(facts, ("customer_id", "ad_group_id"), "ad_group_name"))
        raw.insert("ads", _dimension(facts, ("customer_id", "ad_type", "ad_id"), "ad_name"))
        raw.insert("load_log", _load_log(facts))
        for statement in statements:  # idempotent: refills the summary from the facts
            raw.run(statement)
        raw.run("INSERT INTO warehouse_meta (key, value) VALUES ('schema_version', '3')")


def _dimension(facts: pa.Table, key: tuple[str, ...], name: str) -> list[dict[str, Any]]:
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in facts.to_pylist():
        entry = found.setdefault(
            tuple(row[k] for k in key),
            {k: row[k] for k in key}
            | {"name": row[name], "first_seen_day": row["day"], "last_seen_day": row["day"]}
            | {"updated_at": row["fetched_at"]},
        )
        entry["first_seen_day"] = min(entry["first_seen_day"], row["day"])
        entry["last_seen_day"] = max(entry["last_seen_day"], row["day"])
        if "campaign_id" not in key:
            entry["campaign_id"] = row["campaign_id"]
        if key[-1] == "ad_id":
            entry |= {"ad_group_id": row["ad_group_id"], "offer_id": row["offer_id"]}
        if key[-1] == "campaign_id":
            entry["ad_type"] = row["ad_type"]
    return list(found.values())


def _load_log(facts: pa.Table) -> list[dict[str, Any]]:
    counts: dict[tuple[str, date], int] = {}
    fetched = facts["fetched_at"][0].as_py()
    for row in facts.select(["customer_id", "day"]).to_pylist():
        key = (row["customer_id"], row["day"])
        counts[key] = counts.get(key, 0) + 1
    return [
        {"customer_id": c, "day": d, "run_id": "v3-run", "fetched_at": fetched, "rows": n}
        for (c, d), n in sorted(counts.items())
    ]


def _contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every version-3 column of every version-3 table, in key order."""
    contents: dict[str, list[tuple[Any, ...]]] = {}
    with raw_database(url) as raw:
        for table, key in V3_TABLES.items():
            columns = V3_FACT_COLUMNS if table == "ad_daily_stats" else _v3_columns(raw, table)
            sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}"  # noqa: S608
            contents[table] = raw.run(sql)
    return contents


def _v3_columns(raw: RawDatabase, table: str) -> list[str]:
    names = [
        str(r[0])
        for r in raw.run(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
            [table],
        )
    ]
    added = {"campaign_day_totals": {"attributed_to_core_value"}}
    return [name for name in names if name not in added.get(table, set())]


def _columns(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every relation's columns: name, type, nullable, in order."""
    with raw_database(url) as raw:
        rows = raw.run(
            "SELECT table_name, column_name, data_type, is_nullable "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table, *column in rows:
        found.setdefault(str(table), []).append(tuple(column))
    return found


@pytest.fixture
def v3_facts(factory: StatFactory) -> pa.Table:
    """Two customers' facts of both ad types, a week each, as version 3 stored them."""
    return pa.concat_tables(
        [
            factory.slice_table("cust-1", START, END),
            factory.slice_table("cust-2", START, END, campaigns=3, seed=4),
        ]
    )


def test_a_version_3_warehouse_is_upgraded_in_place_keeping_every_row(
    warehouse_url: str, v3_facts: pa.Table
) -> None:
    write_version_3_warehouse(warehouse_url, v3_facts)
    before = _contents(warehouse_url)

    upgraded = open_warehouse(warehouse_url)
    try:
        version = upgraded.read("SELECT value FROM warehouse_meta").column("value").to_pylist()
        new_values = upgraded.read(
            "SELECT COUNT(*) AS n FROM ad_daily_stats WHERE unique_reach IS NOT NULL "
            "OR effective_cpm IS NOT NULL OR attributed_to_core_value IS NOT NULL"
        )
        offers = upgraded.read("SELECT COUNT(*) AS n FROM offers")
    finally:
        upgraded.close()

    assert version == [str(SCHEMA_VERSION)]
    assert _contents(warehouse_url) == before
    assert len(before["ad_daily_stats"]) == v3_facts.num_rows
    assert new_values["n"].to_pylist() == [0] and offers["n"].to_pylist() == [0]


def test_the_views_of_an_upgraded_warehouse_agree_with_its_facts(
    warehouse_url: str, v3_facts: pa.Table
) -> None:
    write_version_3_warehouse(warehouse_url, v3_facts)

    upgraded = open_warehouse(warehouse_url)
    try:
        campaign_days = stats_queries.campaign_daily(upgraded, ["cust-1", "cust-2"], START, END)
        customer_days = upgraded.read("SELECT SUM(cost) AS cost FROM customer_daily_stats")
        graphic_days = upgraded.read("SELECT COUNT(*) AS n FROM graphic_ad_daily_stats")
        mismatches = stats_queries.summary_mismatches(upgraded, START, END)
    finally:
        upgraded.close()

    costs = v3_facts["cost"].to_pylist()
    graphic = v3_facts["ad_type"].to_pylist().count("GRAPHIC_AD")
    assert sum(campaign_days["cost"].to_pylist(), Decimal(0)) == sum(costs, Decimal(0))
    assert customer_days["cost"].to_pylist() == [sum(costs, Decimal(0))]
    assert graphic_days["n"].to_pylist() == [graphic] and graphic > 0
    assert campaign_days["attributed_to_core_value"].null_count == campaign_days.num_rows
    assert mismatches.empty


def test_an_upgraded_warehouse_has_the_layout_of_a_new_one(
    warehouse_url: str, v3_facts: pa.Table, tmp_path: Any
) -> None:
    write_version_3_warehouse(warehouse_url, v3_facts)
    open_warehouse(warehouse_url).close()
    fresh_url = f"duckdb:///{tmp_path / 'fresh.duckdb'}"
    if not warehouse_url.startswith("duckdb:"):
        fresh_url = warehouse_url + "_fresh"
        with raw_database(warehouse_url) as raw:
            raw.run(f'CREATE DATABASE "{fresh_url.rsplit("/", 1)[1]}"')
    try:
        open_warehouse(fresh_url).close()

        assert _columns(warehouse_url) == _columns(fresh_url)
    finally:
        if not warehouse_url.startswith("duckdb:"):
            with raw_database(warehouse_url) as raw:
                raw.run(f'DROP DATABASE "{fresh_url.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_an_upgraded_warehouse_loads_graphic_ad_metrics_and_offers(
    warehouse_url: str, v3_facts: pa.Table, factory: StatFactory
) -> None:
    write_version_3_warehouse(warehouse_url, v3_facts)
    reloaded = factory.slice_table("cust-1", END, END)
    reach = [7 if t == "GRAPHIC_AD" else None for t in reloaded["ad_type"].to_pylist()]
    index = reloaded.schema.get_field_index("unique_reach")
    reloaded = reloaded.set_column(index, reloaded.schema.field(index), pa.array(reach, pa.int64()))

    upgraded = open_warehouse(warehouse_url)
    try:
        upgraded.load_slice("cust-1", END, END, reloaded, run_id="v4", fetched_at=_later(v3_facts))
        stored = upgraded.read(
            "SELECT DISTINCT unique_reach FROM graphic_ad_daily_stats "
            "WHERE customer_id = 'cust-1' AND day = $day",
            {"day": END},
        )
        mismatches = stats_queries.summary_mismatches(upgraded, START, END)
    finally:
        upgraded.close()

    assert stored["unique_reach"].to_pylist() == [7]
    assert mismatches.empty


def _later(facts: pa.Table) -> Any:
    from datetime import timedelta

    return facts["fetched_at"][0].as_py() + timedelta(days=1)


def test_a_failing_step_leaves_the_warehouse_at_its_version_with_its_rows(
    warehouse_url: str, v3_facts: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_version_3_warehouse(warehouse_url, v3_facts)
    before = _contents(warehouse_url)
    step = migrations.STEPS[0]  # version 4, the first above the frozen version 3
    broken = replace(
        step, statements=lambda dialect: [*step.statements(dialect), "SELECT * FROM no_such_table"]
    )
    monkeypatch.setattr(migrations, "STEPS", (broken, *migrations.STEPS[1:]))

    with pytest.raises(Exception, match="no_such_table"):
        open_warehouse(warehouse_url)

    with raw_database(warehouse_url) as raw:
        version = raw.run("SELECT value FROM warehouse_meta")
        columns = raw.run(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'ad_daily_stats' AND column_name = 'unique_reach'"
        )
    assert version == [("3",)] and columns == []
    assert _contents(warehouse_url) == before

    monkeypatch.undo()
    open_warehouse(warehouse_url).close()
    assert _contents(warehouse_url) == before
