"""Test data in and out of the warehouse: ``StatRow`` objects as the Arrow tables the client
fetches and a load takes, and a customer's stored facts read back.

Production never builds tables from ``StatRow`` objects (the client parses Allegro's JSON
straight into Arrow); tests spell rows out, so the conversion refuses money it would have to
round and rounds API ratios with more places half away from zero, as the client does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from allegro_resource.models import StatRow
from allegro_resource.stats_parse import ROUNDED_COLUMNS, STATS_SCHEMA, round_half_away
from warehouse.stats_frames import stats_table_to_facts
from warehouse.stats_loader import Warehouse
from warehouse.stats_schema import FACT_COLUMNS, FACT_SCHEMA, GRAPHIC_COLUMNS, LOAD_SCHEMA, MONEY


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
    """``StatRow`` objects as a ``STATS_SCHEMA`` table (the client's own shape), with the
    graphic-ad metric columns the client's table carries (empty where a row has none)."""
    values = _transpose(rows)
    arrays = [_column(field, values[field.name], rows) for field in STATS_SCHEMA]
    table = pa.Table.from_arrays(arrays, schema=STATS_SCHEMA)
    for name in GRAPHIC_COLUMNS:
        if name not in table.column_names:
            field = LOAD_SCHEMA.field(name)
            column = [getattr(row, name, None) for row in rows]
            table = table.append_column(field, pa.array(column, type=field.type))
    return table


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


def table_rows(wh: Warehouse, customer_id: str, start: date, end: date) -> pa.Table:
    """The customer's ``ad_daily_stats`` rows in ``start..end`` as ``FACT_SCHEMA``, in key order."""
    sql = f"""
SELECT {", ".join(c.name for c in FACT_COLUMNS)} FROM ad_daily_stats
WHERE customer_id = $customer_id AND day BETWEEN $start AND $end
ORDER BY day, ad_type, ad_id"""  # noqa: S608 - constants only
    table = wh.read(sql, {"customer_id": customer_id, "start": start, "end": end})
    return table.cast(FACT_SCHEMA)
