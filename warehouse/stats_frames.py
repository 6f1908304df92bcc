"""Arrow tables in the shape a load expects (``stats_schema.LOAD_SCHEMA``), built by column.

The client fetches ``STATS_SCHEMA`` tables; ``stats_table_to_facts`` is the one conversion to the
load's shape, and ``stat_rows_to_arrow`` takes ``StatRow`` objects the same way."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from allegro_resource.models import StatRow
from allegro_resource.stats_parse import ROUNDED_COLUMNS, STATS_SCHEMA, round_half_away
from warehouse.stats_loader import check_aware
from warehouse.stats_schema import INSTANT, LOAD_SCHEMA, MONEY

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


def stat_rows_to_arrow(
    customer_id: str,
    rows: Sequence[StatRow],
    *,
    currency: str,
    run_id: str | None,
    fetched_at: datetime,
) -> pa.Table:
    """One customer's rows as a ``LOAD_SCHEMA`` table; money stays exact, API ratios are rounded.

    Money with more decimal places than the column holds raises ``ValueError`` (never rounded).
    """
    table = stat_rows_to_table(rows)
    return stats_table_to_facts(
        customer_id, table, currency=currency, run_id=run_id, fetched_at=fetched_at
    )


def stat_rows_to_table(rows: Sequence[StatRow]) -> pa.Table:
    """``StatRow`` objects as a ``STATS_SCHEMA`` table (the client's own shape)."""
    values = _transpose(rows)
    arrays = [_column(field, values[field.name], rows) for field in STATS_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=STATS_SCHEMA)


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
            "AllegroAdsClient.fetch_statistics_table() or stat_rows_to_table()"
        )
    selected = table.select(STATS_SCHEMA.names)
    return selected if selected.schema == STATS_SCHEMA else selected.cast(STATS_SCHEMA)


def _transpose(rows: Sequence[StatRow]) -> dict[str, Sequence[Any]]:
    """Column name -> that column's Python values, in one C-level pass over the rows."""
    names = STATS_SCHEMA.names
    if not rows:
        return {name: () for name in names}
    return dict(zip(names, zip(*map(attrgetter(*names), rows), strict=True), strict=True))


def _column(field: pa.Field, values: Sequence[Any], rows: Sequence[StatRow]) -> pa.Array:
    if field.name in ROUNDED_COLUMNS:
        return _rounded_decimals(field.name, values, field.type)
    if pa.types.is_decimal(field.type):
        return _exact_money(field.name, values, rows)
    return pa.array(values, type=field.type)


def _constant(value: object, type_: pa.DataType, count: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type=type_), count)


def _exact_money(name: str, column: Sequence[Decimal], rows: Sequence[StatRow]) -> pa.Array:
    try:
        return pa.array(column, type=MONEY)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    for row, value in zip(rows, column, strict=True):
        exponent = value.as_tuple().exponent if isinstance(value, Decimal) else None
        if not isinstance(exponent, int) or exponent < -MONEY.scale:
            raise ValueError(
                f"{name} {value!r} of ad {row.ad_id} on {row.day} is not a Decimal with at most "
                f"{MONEY.scale} decimal places; money is never rounded, fix the source value"
            ) from None
    raise ValueError(f"{name} holds a value that does not fit DECIMAL(18,2)")


def _rounded_decimals(name: str, column: Sequence[Decimal], type_: pa.Decimal128Type) -> pa.Array:
    """API ratios may carry more places than stored; round half away from zero to the column."""
    try:
        return pa.array(column, type=type_)
    except pa.ArrowInvalid:
        wide = pa.array(column)  # inferred precision and scale hold every value exactly
    try:
        return round_half_away(wide, type_)
    except pa.ArrowInvalid as exc:
        largest = pc.max(pc.abs(wide)).as_py()
        raise ValueError(
            f"{name} reaches {largest}, more than DECIMAL({type_.precision},{type_.scale}) holds; "
            "check the API's answer for a broken ratio"
        ) from exc
