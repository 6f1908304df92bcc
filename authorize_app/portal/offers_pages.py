"""Offers: the selection's top offers by sponsored spend (name, price, stock and status from
the customer's sales account) and, first, the spend on offers nobody can buy (ended, inactive
or out of stock) per customer, the list an account manager acts on."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from markupsafe import Markup
from werkzeug.wrappers import Response

from authorize_app.portal.context import Ctx
from authorize_app.portal.formatting import HELPERS
from authorize_app.portal.report_cache import CachedReads
from authorize_app.portal.report_filters import ReportFilters, report_filters
from authorize_app.portal.report_model import UnavailableSpend
from authorize_app.portal.stored_report import offer_fields, unavailable_spend_row
from authorize_app.portal.views import view_context
from authorize_app.web import render_fragment
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


def offers(ctx: Ctx) -> Response:
    """GET /offers?from=&to=&portfolio=…&customer=….

    Its tables are rendered once per customers' load generations, dates and names, and
    served to every request for them until one of the customers is loaded again (as the
    report's figures are); the page around them is rendered per request.
    """
    filters = report_filters(ctx, live=False)
    if not filters.customers:
        tables = _tables(None, filters)
    else:
        with ctx.services.warehouse.open() as warehouse:
            read = ctx.services.report_cache.reads(warehouse, filters.customer_ids)
            tables = read.fragment(
                "offers", _tables_inputs(filters), lambda: _tables(read, filters)
            )
    return ctx.render(
        "offers.html",
        status=200,
        active="overview",
        filters=filters,
        data_section=tables,
        **view_context(ctx, filters, "offers"),
    )


def _tables_inputs(filters: ReportFilters) -> Hashable:
    """What the tables show besides the warehouse's answers: the dates, how many offers, and
    the customers' names (from the control store, changed without a load)."""
    names = tuple((customer.id, customer.name) for customer in filters.customers)
    return (TOP_OFFERS, filters.start, filters.end, names)


def _tables(read: CachedReads | None, filters: ReportFilters) -> Markup:
    """The spend on unavailable offers per customer and the top offers, rendered (empty
    without ``read``: no customer selected)."""
    top: list[dict[str, Any]] = []
    wasted: list[dict[str, Any]] = []
    if read is not None:
        start, end = filters.start, filters.end
        top = read.records(top_offers_by_spend, start, end, limit=TOP_OFFERS)
        wasted = read.records(unavailable_offer_spend, start, end)
    names = {customer.id: customer.name for customer in filters.customers}
    return render_fragment(
        "portal/_offers_data.html",
        filters=filters,
        top=[top_offer(record, names) for record in top],
        wasted=wasted_spend(wasted, names),
        top_limit=TOP_OFFERS,
        **HELPERS,
    )


def wasted_spend(
    records: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[UnavailableSpend]:
    """Customers with spend on unavailable offers, the most first."""
    rows = [unavailable_spend_row(record, names) for record in records]
    flagged = [row for row in rows if row.unavailable_spend > 0]
    return sorted(flagged, key=lambda row: (-row.unavailable_spend, row.customer_name.casefold()))


def top_offer(record: Mapping[str, Any], names: Mapping[str, str]) -> TopOffer:
    return TopOffer(
        price=None if record["price"] is None else Decimal(record["price"]),
        price_currency=record["price_currency"],
        **offer_fields(record, names),
    )
