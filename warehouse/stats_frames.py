"""Arrow tables in the shape a load expects (``stats_schema.LOAD_SCHEMA``), built by column.

The client fetches ``STATS_SCHEMA`` tables; ``stats_table_to_facts`` is the one conversion to the
load's shape."""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa

from allegro_resource.stats_parse import STATS_SCHEMA
from warehouse.stats_loader import check_aware
from warehouse.stats_schema import INSTANT, LOAD_SCHEMA

# STATS_SCHEMA column -> load column, where the names differ (Allegro's ratios kept for checks).
_RENAMED = {"ctr": "api_ctr", "effective_cpc": "api_cpc", "rate_of_return": "api_roas"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


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
    return selected if selected.schema == STATS_SCHEMA else selected.cast(STATS_SCHEMA)


def _constant(value: object, type_: pa.DataType, count: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type=type_), count)
