"""Arrow tables in the shape a load expects (``stats_schema.LOAD_SCHEMA``), built by column."""

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
from warehouse.stats_loader import check_aware
from warehouse.stats_schema import INSTANT, LOAD_SCHEMA, MONEY, RATIO

# StatRow attribute -> load column, in one pass over the rows.
_ROW_FIELDS: tuple[tuple[str, str], ...] = (
    ("ads_client_id", "ads_client_id"),
    ("ad_type", "ad_type"),
    ("campaign_id", "campaign_id"),
    ("campaign_name", "campaign_name"),
    ("ad_group_id", "ad_group_id"),
    ("ad_group_name", "ad_group_name"),
    ("ad_id", "ad_id"),
    ("ad_name", "ad_name"),
    ("offer_id", "offer_id"),
    ("day", "day"),
    ("views", "views"),
    ("clicks", "clicks"),
    ("interest", "interest"),
    ("cost", "cost"),
    ("attributed_count", "attributed_count"),
    ("attributed_value", "attributed_value"),
    ("ctr", "api_ctr"),
    ("effective_cpc", "api_cpc"),
    ("rate_of_return", "api_roas"),
)
_ROUNDED_COLUMNS = {"api_ctr": RATIO, "api_cpc": MONEY, "api_roas": MONEY}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


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
    check_currency(currency)
    check_aware(fetched_at)
    count = len(rows)
    values = _transpose(rows)
    arrays: dict[str, pa.Array] = {
        "customer_id": _constant(customer_id, pa.string(), count),
        "currency": _constant(currency, pa.string(), count),
        "fetched_at": _constant(fetched_at, INSTANT, count),
        "run_id": _constant(run_id, pa.string(), count),
    }
    for field in LOAD_SCHEMA:
        if field.name in arrays:
            continue
        column = values[field.name]
        if field.name in _ROUNDED_COLUMNS:
            arrays[field.name] = _rounded_decimals(field.name, column, _ROUNDED_COLUMNS[field.name])
        elif pa.types.is_decimal(field.type):
            arrays[field.name] = _exact_money(field.name, column, rows)
        else:
            arrays[field.name] = pa.array(column, type=field.type)
    return pa.Table.from_arrays([arrays[f.name] for f in LOAD_SCHEMA], schema=LOAD_SCHEMA)


def check_currency(currency: str) -> None:
    """Raise ``ValueError`` unless ``currency`` is an ISO 4217 code such as PLN."""
    if not _CURRENCY.match(currency):
        raise ValueError(f"currency {currency!r} is not a three-letter ISO code such as 'PLN'")


def _transpose(rows: Sequence[StatRow]) -> dict[str, Sequence[Any]]:
    """Load column name -> that column's Python values, in one C-level pass over the rows."""
    names = [column for _, column in _ROW_FIELDS]
    if not rows:
        return {name: () for name in names}
    getter = attrgetter(*(attr for attr, _ in _ROW_FIELDS))
    return dict(zip(names, zip(*map(getter, rows), strict=True), strict=True))


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
    rounded = pc.round(wide, ndigits=type_.scale, round_mode="half_towards_infinity")
    try:
        return rounded.cast(type_)
    except pa.ArrowInvalid as exc:
        largest = pc.max(pc.abs(rounded)).as_py()
        raise ValueError(
            f"{name} reaches {largest}, more than DECIMAL({type_.precision},{type_.scale}) holds; "
            "check the API's answer for a broken ratio"
        ) from exc
