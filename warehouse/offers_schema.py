"""The ``offers`` table: the seller data behind sponsored ads (name, price, stock, status).

Read from each customer's sales account (``/sale/offers``) and replaced per customer on each
load (``Warehouse.load_offers``). Statistics never depend on it: an offer that was not fetched
is simply unknown to the reports.
"""

from __future__ import annotations

import pyarrow as pa

from warehouse.stats_schema import INSTANT, MONEY, Column

OFFERS_TABLE = "offers"
OFFER_STATUSES = ("ACTIVE", "INACTIVE", "ENDED", "ACTIVATING")
# Spend on these offers is flagged: nobody can buy them.
UNAVAILABLE_STATUSES = ("ENDED", "INACTIVE")

OFFER_COLUMNS: tuple[Column, ...] = (
    Column("customer_id", "VARCHAR", pa.string(), doc="the agency's customer"),
    Column("offer_id", "VARCHAR", pa.string(), doc="Allegro offer id; joins ads.offer_id"),
    Column("name", "VARCHAR", pa.string(), doc="the offer's title"),
    # An offer may have no fixed price (e.g. an auction without "buy now"), and may not say its
    # stock: NULL then, never 0 (0 available means out of stock and is flagged).
    Column(
        "price",
        "DECIMAL(18,2)",
        MONEY,
        nullable=True,
        doc="the buy-now price, in currency; NULL if none",
    ),
    Column("currency", "VARCHAR(3)", pa.string(), nullable=True, doc="currency of price"),
    Column(
        "stock_available",
        "BIGINT",
        pa.int64(),
        nullable=True,
        doc="items left; 0 = out of stock; NULL if Allegro did not say",
    ),
    Column("stock_sold", "BIGINT", pa.int64(), nullable=True, doc="items sold"),
    Column(
        "status",
        "VARCHAR",
        pa.string(),
        doc="publication status: ACTIVE, INACTIVE, ENDED or ACTIVATING",
    ),
    Column(
        "fetched_at",
        "TIMESTAMP WITH TIME ZONE",
        INSTANT,
        doc="when these values were read from Allegro",
    ),
)
OFFER_KEY = ("customer_id", "offer_id")
OFFERS_SCHEMA = pa.schema([c.field() for c in OFFER_COLUMNS])
# What a caller passes to ``load_offers``: the table without the columns the load stamps.
OFFER_INPUT_COLUMNS = tuple(c for c in OFFER_COLUMNS if c.name not in ("customer_id", "fetched_at"))
OFFER_INPUT_SCHEMA = pa.schema([c.field() for c in OFFER_INPUT_COLUMNS])


def offers_table_ddl() -> str:
    """CREATE TABLE of ``offers`` (idempotent; the same text in both dialects)."""
    columns = ",\n    ".join(c.ddl() for c in OFFER_COLUMNS)
    statuses = ", ".join(f"'{s}'" for s in OFFER_STATUSES)
    return (
        f"CREATE TABLE IF NOT EXISTS {OFFERS_TABLE} (\n    "
        f"{columns},\n"
        f"    PRIMARY KEY ({', '.join(OFFER_KEY)}),\n"
        f"    CHECK (status IN ({statuses}))\n)"
    )
