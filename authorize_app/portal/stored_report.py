"""The stored report: the warehouse's campaign totals, daily trend and freshness for the
customers in the filters (ids only ever come from the scope)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from authorize_app.portal.report_cache import CachedReads, ReportCache
from authorize_app.portal.report_filters import ReportFilters
from authorize_app.portal.report_model import (
    CampaignRow,
    DayPoint,
    GraphicAdRow,
    OfferRow,
    Report,
    UnavailableSpend,
    sort_rows,
)
from warehouse.offer_queries import top_offers, unavailable_offer_spend
from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import (
    campaign_report_table,
    daily_trend,
    graphic_ad_report,
    latest_loaded_day,
)


def stored_report(wh: Warehouse, filters: ReportFilters, cache: ReportCache) -> Report:
    """The report of ``filters`` from the warehouse (parameterised queries only; answers kept
    in ``cache`` while the customers' data is unchanged)."""
    return report_of(cache.reads(wh, filters.customer_ids), filters)


def report_of(read: CachedReads, filters: ReportFilters) -> Report:
    """The report of ``filters`` through ``read`` (the reads of its customers)."""
    report = Report("stored", filters.start, filters.end, filters.customers)
    if not filters.customers:
        return report
    names = {customer.id: customer.name for customer in filters.customers}
    start, end = filters.start, filters.end
    # Rows converted once per answer and customer names (each request only sorts and pages).
    campaigns = read.named_rows(campaign_report_table, _campaign_row, names, start, end)
    report.rows = sort_rows(campaigns, filters.sort)
    report.days = [_day(record) for record in read.records(daily_trend, start, end)]
    report.freshness = read(latest_loaded_day)
    report.offers = read.named_rows(top_offers, _offer, names, start, end)
    report.unavailable = read.named_rows(
        unavailable_offer_spend, unavailable_spend_row, names, start, end
    )
    report.graphic_ads = read.named_rows(graphic_ad_report, _graphic_ad, names, start, end)
    return report


def graphic_ad_rows(
    records: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[GraphicAdRow]:
    """``graphic_ad_report`` rows, customers named."""
    return [_graphic_ad(record, names) for record in records]


def _offer(record: Mapping[str, Any], names: Mapping[str, str]) -> OfferRow:
    return OfferRow(rank=int(record["spend_rank"]), **offer_fields(record, names))


def offer_fields(record: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """What every offer row holds: its customer (named), the offer as last fetched from the
    sales account and its sponsored spend, clicks and sales value."""
    customer_id = str(record["customer_id"])
    unavailable = record["unavailable"]
    return {
        "customer_id": customer_id,
        "customer_name": names.get(customer_id, customer_id),
        "offer_id": str(record["offer_id"]),
        "offer_name": None if record["offer_name"] is None else str(record["offer_name"]),
        "status": None if record["status"] is None else str(record["status"]),
        "stock_available": _count(record["stock_available"]),
        "unavailable": None if unavailable is None else bool(unavailable),
        "currency": str(record["currency"]),
        "spend": _money(record["spend"]),
        "clicks": int(record["clicks"]),
        "attributed_value": _money(record["attributed_value"]),
    }


def unavailable_spend_row(record: Mapping[str, Any], names: Mapping[str, str]) -> UnavailableSpend:
    customer_id = str(record["customer_id"])
    return UnavailableSpend(
        customer_id=customer_id,
        customer_name=names.get(customer_id, customer_id),
        currency=str(record["currency"]),
        sponsored_spend=_money(record["sponsored_spend"]),
        unavailable_spend=_money(record["unavailable_spend"]),
        unavailable_offers=int(record["unavailable_offers"]),
    )


def _graphic_ad(record: Mapping[str, Any], names: Mapping[str, str]) -> GraphicAdRow:
    customer_id = str(record["customer_id"])
    return GraphicAdRow(
        customer_id=customer_id,
        customer_name=names.get(customer_id, customer_id),
        campaign_name=str(record["campaign_name"] or record["campaign_id"]),
        ad_id=str(record["ad_id"]),
        ad_name=str(record["ad_name"] or record["ad_id"]),
        currency=str(record["currency"]),
        days=int(record["days"]),
        views=int(record["views"]),
        clicks=int(record["clicks"]),
        cost=_money(record["cost"]),
        cpm=_decimal(record["cpm"]),
        max_daily_unique_reach=_count(record["max_daily_unique_reach"]),
    )


def _count(value: object) -> int | None:
    if isinstance(value, int):  # what the warehouse returns; the rest are NULLs and decimals
        return value
    found = _decimal(value)
    return None if found is None else int(found)


def _campaign_row(record: Mapping[Any, Any], names: Mapping[str, str]) -> CampaignRow:
    customer_id = str(record["customer_id"])
    campaign_id = str(record["campaign_id"])
    return CampaignRow(
        customer_id=customer_id,
        customer_name=names.get(customer_id, customer_id),
        campaign_id=campaign_id,
        campaign_name=str(record["campaign_name"] or campaign_id),
        currency=str(record["currency"]),
        views=int(record["views"]),
        clicks=int(record["clicks"]),
        cost=_money(record["cost"]),
        attributed_count=int(record["attributed_count"]),
        attributed_value=_money(record["attributed_value"]),
        ctr=_decimal(record["ctr"]),
        cpc=_decimal(record["cpc"]),
        roas=_decimal(record["roas"]),
    )


def _day(record: Mapping[str, Any]) -> DayPoint:
    """A day of the trend: the customers' sums, added up in SQL."""
    return DayPoint(
        record["day"],
        _money(record["cost"]),
        int(record["clicks"]),
        _money(record["attributed_value"]),
    )


def _decimal(value: object) -> Decimal | None:
    """A warehouse number as Decimal; None for SQL NULL (or pandas' NaN for it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money(value: object) -> Decimal:
    found = _decimal(value)
    return Decimal(0) if found is None else found
