"""The schema: created idempotently with its version recorded; URLs name a backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from warehouse.backends import duckdb_path, open_warehouse
from warehouse.stats_loader import Warehouse
from warehouse.stats_schema import SCHEMA_VERSION, SchemaVersionError

TABLES = {
    "ad_daily_stats",
    "campaign_day_totals",
    "campaigns",
    "ad_groups",
    "ads",
    "load_log",
    "offers",
    "warehouse_meta",
    "ad_type_day_totals",
    "load_generations",
}
VIEWS = {"campaign_daily_stats", "customer_daily_stats", "graphic_ad_daily_stats"}


def test_ensure_schema_is_idempotent_and_records_its_version(
    warehouse: Warehouse, warehouse_url: str
) -> None:
    warehouse.ensure_schema()
    open_warehouse(warehouse_url).close()

    meta = warehouse.read("SELECT key, value FROM warehouse_meta")
    relations = warehouse.read(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_schema = current_schema()"
    ).to_pylist()
    assert meta.to_pylist() == [{"key": "schema_version", "value": str(SCHEMA_VERSION)}]
    assert {r["table_name"] for r in relations if r["table_type"] == "BASE TABLE"} == TABLES
    assert {r["table_name"] for r in relations if r["table_type"] == "VIEW"} == VIEWS


def test_a_warehouse_from_newer_code_is_refused(
    warehouse_url: str, raw_sql: Callable[[str], None]
) -> None:
    raw_sql("UPDATE warehouse_meta SET value = '99' WHERE key = 'schema_version'")

    with pytest.raises(SchemaVersionError, match=r"version 99 .* upgrade allegro-ads-manager"):
        open_warehouse(warehouse_url)


def test_warehouse_urls_name_a_duckdb_file_or_postgresql() -> None:
    assert duckdb_path("duckdb:///data/warehouse.duckdb") == Path("data/warehouse.duckdb")
    assert duckdb_path("duckdb:////srv/wh.duckdb") == Path("/srv/wh.duckdb")
    with pytest.raises(ValueError, match="does not name a DuckDB file"):
        duckdb_path("duckdb:///:memory:")
    with pytest.raises(ValueError, match="ALLEGRO_ADS_WAREHOUSE_URL"):
        open_warehouse("mysql://localhost/warehouse")
