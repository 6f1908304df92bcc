"""Catalog metadata of the warehouse assets: the column schema every definition declares (so
the Dagster UI lists the columns analysts query before the first run) and the row count each
materialisation records."""

from __future__ import annotations

from typing import Any

import dagster as dg

from warehouse.catalog import row_count, table_columns
from warehouse.stats_loader import Warehouse

# The keys Dagster's catalog reads (its table metadata set).
COLUMN_SCHEMA = "dagster/column_schema"
TABLE_NAME = "dagster/table_name"
ROW_COUNT = "dagster/row_count"
STORAGE_KIND = "dagster/storage_kind"


def column_schema(table: str) -> dg.TableSchema:
    """``table``'s columns as Dagster shows them: name, SQL type, meaning, nullability."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.sql_type,
                description=column.doc or None,
                constraints=dg.TableColumnConstraints(nullable=column.nullable),
            )
            for column in table_columns(table)
        ]
    )


def table_definition_metadata(table: str) -> dict[str, Any]:
    """``dagster/column_schema`` and ``dagster/table_name`` of an asset writing ``table``."""
    return {
        COLUMN_SCHEMA: dg.MetadataValue.table_schema(column_schema(table)),
        TABLE_NAME: dg.MetadataValue.text(table),
    }


def table_materialization_metadata(wh: Warehouse, table: str) -> dict[str, Any]:
    """``dagster/row_count`` (rows in the whole table after the run) and the backend that holds
    it (``dagster/storage_kind``: duckdb or postgresql)."""
    return {
        ROW_COUNT: dg.MetadataValue.int(row_count(wh, table)),
        STORAGE_KIND: dg.MetadataValue.text(wh.dialect),
    }
