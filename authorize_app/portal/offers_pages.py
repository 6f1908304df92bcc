"""Offers: the selection's top offers by sponsored spend (name, price, stock and status from
the customer's sales account) and, first, the spend on offers nobody can buy (ended, inactive
or out of stock) per customer, the list an account manager acts on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

from authorize_app.portal.context import Ctx
from authorize_app.portal.formatting import HELPERS
from authorize_app.portal.report_filters import report_filters
from authorize_app.portal.views import view_context
from warehouse.offer_queries import top_offers_by_spend, unavailable_offer_spend

TOP_OFFERS = 50


@dataclass(frozen=True, slots=True)
class TopOffer:
    customer_id: str
    customer_name: str
    offer_id: str
    offer_name: str | None  # None: never fetched (no sales-account connection)
    price: Decimal | None
    price_currency: str | None
    stock_available: int | None
    status: str | None
    unavailable: bool | None  # None: unknown
    currency: str
    spend: Decimal
    clicks: int
    attributed_value: Decimal


@dataclass(frozen=True, slots=True)
class WastedSpend:
    customer_id: str
    customer_name: str
    currency: str
    sponsored_spend: Decimal
    unavailable_spend: Decimal
    unavailable_offers: int


def offers(ctx: Ctx) -> Response:
    """GET /offers?from=&to=&portfolio=…&customer=…."""
    filters = report_filters(ctx, live=False)
    ids = filters.customer_ids
    top: list[dict[str, Any]] = []
    wasted: list[dict[str, Any]] = []
    if ids:
        with ctx.services.warehouse.open() as warehouse:
            start, end = filters.start, filters.end
            read = ctx.services.report_cache.reads(warehouse, ids)
            top = read.records(top_offers_by_spend, start, end, limit=TOP_OFFERS)
            wasted = read.records(unavailable_offer_spend, start, end)
    names = {customer.id: customer.name for customer in filters.customers}
    return ctx.render(
        "offers.html",
        status=200,
        active="overview",
        filters=filters,
        top=[top_offer(record, names) for record in top],
        wasted=wasted_spend(wasted, names),
        top_limit=TOP_OFFERS,
        **view_context(ctx, filters, "offers"),
        **HELPERS,
    )


def wasted_spend(
    records: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[WastedSpend]:
    """Customers with spend on unavailable offers, the most first."""
    rows = [
        WastedSpend(
            str(r["customer_id"]),
            names.get(str(r["customer_id"]), str(r["customer_id"])),
            str(r["currency"]),
            Decimal(r["sponsored_spend"]),
            Decimal(r["unavailable_spend"]),
            int(r["unavailable_offers"]),
        )
        for r in records
    ]
    flagged = [row for row in rows if row.unavailable_spend > 0]
    return sorted(flagged, key=lambda row: (-row.unavailable_spend, row.customer_name.casefold()))


def top_offer(record: Mapping[str, Any], names: Mapping[str, str]) -> TopOffer:
    customer_id = str(record["customer_id"])
    unavailable = record["unavailable"]
    return TopOffer(
        customer_id=customer_id,
        customer_name=names.get(customer_id, customer_id),
        offer_id=str(record["offer_id"]),
        offer_name=None if record["offer_name"] is None else str(record["offer_name"]),
        price=None if record["price"] is None else Decimal(record["price"]),
        price_currency=record["price_currency"],
        stock_available=_count(record["stock_available"]),
        status=None if record["status"] is None else str(record["status"]),
        unavailable=None if unavailable is None else bool(unavailable),
        currency=str(record["currency"]),
        spend=Decimal(record["spend"]),
        clicks=int(record["clicks"]),
        attributed_value=Decimal(record["attributed_value"]),
    )


def _count(value: object) -> int | None:
    return None if value is None else int(str(value))
