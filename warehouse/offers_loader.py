"""Checking a customer's offers before they replace the stored ones, and the SQL that does it.

``Warehouse.load_offers`` validates with ``prepare_offers`` (nothing is touched on bad input)
and runs ``REPLACE_OFFERS`` in one transaction with the table exposed as ``INCOMING_OFFERS``;
``Warehouse.load_offers_of_customers`` does the same for several customers at once with
``REPLACE_CUSTOMERS_OFFERS`` (one write connection and transaction instead of one each).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.offers_schema import (
    OFFER_COLUMNS,
    OFFER_INPUT_SCHEMA,
    OFFER_STATUSES,
    OFFERS_SCHEMA,
    OFFERS_TABLE,
)

INCOMING_OFFERS = "incoming_offers"  # the relation a backend exposes the offers table as


@dataclass(frozen=True, slots=True)
class OffersLoadResult:
    """What one ``load_offers`` did: the customer's offers before it and the offers now stored."""

    rows_deleted: int
    rows_inserted: int


def prepare_offers(customer_id: str, table: pa.Table, fetched_at: datetime) -> pa.Table:
    """``table`` (columns of ``OFFER_INPUT_SCHEMA``, extra ones ignored) as an ``OFFERS_SCHEMA``
    table stamped with the customer and the fetch time; ``ValueError`` naming what is wrong."""
    if not customer_id:
        raise ValueError("customer_id is empty; pass the id of the customer whose offers these are")
    missing = [name for name in OFFER_INPUT_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(
            f"the offers table lacks columns {', '.join(missing)}; it needs "
            f"{', '.join(OFFER_INPUT_SCHEMA.names)}"
        )
    count = table.num_rows
    stamped = {
        "customer_id": pa.repeat(pa.scalar(customer_id, pa.string()), count),
        "fetched_at": pa.repeat(
            pa.scalar(fetched_at, OFFERS_SCHEMA.field("fetched_at").type), count
        ),
    }
    arrays = [
        stamped[name] if name in stamped else table.column(name) for name in OFFERS_SCHEMA.names
    ]
    try:
        offers = pa.Table.from_arrays(arrays, names=OFFERS_SCHEMA.names).cast(OFFERS_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValueError(
            f"the offers table's columns do not convert to the warehouse types ({exc}); "
            "price must be a decimal with at most 2 places, stock an integer"
        ) from exc
    _check_offers(offers)
    return offers


def _check_offers(offers: pa.Table) -> None:
    for column in OFFER_COLUMNS:
        if not column.nullable and offers.column(column.name).null_count:
            raise ValueError(f"offers column {column.name} has empty values; every offer needs one")
    status = offers.column("status")
    if not pc.all(pc.is_in(status, value_set=pa.array(OFFER_STATUSES)), min_count=0).as_py():
        found = sorted(set(pc.unique(status).to_pylist()) - set(OFFER_STATUSES))
        raise ValueError(
            f"unknown offer status {found}; expected one of {', '.join(OFFER_STATUSES)}"
        )
    ids = offers.column("offer_id")
    if len(pc.unique(ids)) != offers.num_rows:
        counts = pc.value_counts(ids).to_pylist()
        repeated = sorted(str(c["values"]) for c in counts if c["counts"] > 1)
        raise ValueError(f"offer ids {repeated} appear more than once; send each offer once")
    for name in ("price", "stock_available", "stock_sold"):
        if pc.any(pc.less(offers.column(name), 0), min_count=0).as_py():
            raise ValueError(f"offers column {name} has negative values")
    currency = pc.drop_null(offers.column("currency"))
    if not pc.all(pc.match_substring_regex(currency, r"^[A-Z]{3}$"), min_count=0).as_py():
        raise ValueError("an offer's currency must be a three-letter ISO code such as 'PLN'")


_NAMES = ", ".join(c.name for c in OFFER_COLUMNS)
COUNT_OFFERS = f"SELECT COUNT(*) FROM {OFFERS_TABLE} WHERE customer_id = $customer_id"  # noqa: S608
# The customer's offers are exactly the new list afterwards: an offer it no longer names is gone.
REPLACE_OFFERS = (
    f"DELETE FROM {OFFERS_TABLE} WHERE customer_id = $customer_id",  # noqa: S608
    f"INSERT INTO {OFFERS_TABLE} ({_NAMES}) SELECT {_NAMES} FROM {INCOMING_OFFERS}",  # noqa: S608
)

_CUSTOMERS = "SELECT UNNEST(CAST($customer_ids AS VARCHAR[]))"
COUNT_CUSTOMERS_OFFERS = (
    f"SELECT customer_id, COUNT(*) FROM {OFFERS_TABLE} "  # noqa: S608
    f"WHERE customer_id IN ({_CUSTOMERS}) GROUP BY customer_id"
)
# Every named customer's offers are exactly its new list afterwards (an empty list included).
REPLACE_CUSTOMERS_OFFERS = (
    f"DELETE FROM {OFFERS_TABLE} WHERE customer_id IN ({_CUSTOMERS})",  # noqa: S608
    REPLACE_OFFERS[1],
)
