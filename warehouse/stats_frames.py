"""Arrow tables in the shape a load expects (``stats_schema.LOAD_SCHEMA``), built by column.

The client fetches ``STATS_SCHEMA`` tables; ``stats_table_to_facts`` is the one conversion to the
load's shape. Whether a value may be empty is the load's to check (``prepare_slice``): here every
column is taken as it comes, so a graphic ad's missing effective CPC passes through as NULL."""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from allegro_resource.stats_parse import STATS_SCHEMA
from warehouse.stats_loader import check_aware
from warehouse.stats_schema import GRAPHIC_COLUMNS, INSTANT, LOAD_SCHEMA

# STATS_SCHEMA column -> load column, where the names differ (Allegro's ratios kept for checks).
_RENAMED = {"ctr": "api_ctr", "effective_cpc": "api_cpc", "rate_of_return": "api_roas"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# The client's columns and types; emptiness is checked by the load against LOAD_SCHEMA.
_TAKEN = pa.schema([field.with_nullable(True) for field in STATS_SCHEMA])


def stats_table_to_facts(
    customer_id: str,
    table: pa.Table,
    *,
    currency: str,
    run_id: str | None,
    fetched_at: datetime,
) -> pa.Table:
    """One customer's ``STATS_SCHEMA`` table (as the client fetches it) as a ``LOAD_SCHEMA`` table.

    Adds the customer, currency, run and fetch time; renames Allegro's ratios to ``api_*``.
    The graphic-ad metrics (``unique_reach``, ``effective_cpm``, ``attributed_to_core_value``)
    are taken as they are; a table without them may hold sponsored offers only.
    """
    check_currency(currency)
    check_aware(fetched_at)
    stats = _as_stats(table)
    count = stats.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "customer_id": _constant(customer_id, pa.string(), count),
        "currency": _constant(currency, pa.string(), count),
        "fetched_at": _constant(fetched_at, INSTANT, count),
        "run_id": _constant(run_id, pa.string(), count),
        **_graphic_metrics(table),
    }
    for name in STATS_SCHEMA.names:
        columns[_RENAMED.get(name, name)] = stats.column(name)
    return pa.Table.from_arrays([columns[name] for name in LOAD_SCHEMA.names], schema=LOAD_SCHEMA)


def check_currency(currency: str) -> None:
    """Raise ``ValueError`` unless ``currency`` is an ISO 4217 code such as PLN."""
    if not _CURRENCY.match(currency):
        raise ValueError(f"currency {currency!r} is not a three-letter ISO code such as 'PLN'")


def _as_stats(table: pa.Table) -> pa.Table:
    """``table``'s ``STATS_SCHEMA`` columns, in order and types; ``ValueError`` if it lacks one."""
    missing = [name for name in STATS_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(
            f"the statistics table lacks columns {', '.join(missing)}; build it with "
            "AllegroAdsClient.fetch_statistics_table()"
        )
    selected = table.select(STATS_SCHEMA.names)
    return selected if selected.schema == _TAKEN else selected.cast(_TAKEN)


def _graphic_metrics(table: pa.Table) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The graphic-ad metric columns of ``table`` in the load's types; all NULL where the table
    has none, which only a table without graphic-ad rows may do (their metrics would be lost)."""
    lacking = [name for name in GRAPHIC_COLUMNS if name not in table.column_names]
    if lacking and pc.any(pc.equal(table.column("ad_type"), "GRAPHIC_AD"), min_count=0).as_py():
        raise ValueError(
            f"the statistics table has graphic-ad rows but lacks columns {', '.join(lacking)}; "
            "build it with AllegroAdsClient.fetch_statistics_table()"
        )
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in GRAPHIC_COLUMNS:
        type_ = LOAD_SCHEMA.field(name).type
        columns[name] = (
            table.column(name).cast(type_)
            if name in table.column_names
            else pa.nulls(table.num_rows, type_)
        )
    return columns


def _constant(value: object, type_: pa.DataType, count: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type=type_), count)
