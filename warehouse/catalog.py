"""The warehouse tables the pipeline's assets write, as a catalog describes them: their columns
(name, SQL type, meaning) and how many rows they hold now."""

from __future__ import annotations

from warehouse.offers_schema import OFFER_COLUMNS, OFFERS_TABLE
from warehouse.stats_loader import Warehouse
from warehouse.stats_schema import FACT_COLUMNS, Column

FACTS_TABLE = "ad_daily_stats"

TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    FACTS_TABLE: FACT_COLUMNS,
    OFFERS_TABLE: OFFER_COLUMNS,
}
"""Each table an asset writes, with its columns in table order (the DDL's own list)."""


class UnknownTableError(ValueError):
    """A table that no asset writes was asked for."""


def table_columns(table: str) -> tuple[Column, ...]:
    """The columns of ``table`` (``ad_daily_stats`` or ``offers``)."""
    try:
        return TABLE_COLUMNS[table]
    except KeyError:
        raise UnknownTableError(
            f"{table!r} is not a table the pipeline writes; use one of {', '.join(TABLE_COLUMNS)}"
        ) from None


def row_count(wh: Warehouse, table: str) -> int:
    """Rows ``table`` holds now (every customer, every day)."""
    table_columns(table)  # only known names ever reach the SQL below
    counted = wh.read(f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608 - a known table name
    return int(counted.column("n")[0].as_py())
