"""The stored report: the warehouse's campaign totals, daily trend and freshness for the
customers in the filters (ids only ever come from the scope)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from authorize_app.portal.report_filters import ReportFilters
from authorize_app.portal.report_model import CampaignRow, DayPoint, Report, sort_rows
from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import campaign_report_table, daily_trend, latest_loaded_day


def stored_report(wh: Warehouse, filters: ReportFilters) -> Report:
    """The report of ``filters`` from the warehouse (parameterised queries only)."""
    report = Report("stored", filters.start, filters.end, filters.customers)
    ids = filters.customer_ids
    if not ids:
        return report
    names = {customer.id: customer.name for customer in filters.customers}
    campaigns = campaign_report_table(wh, ids, filters.start, filters.end)
    rows = [_campaign_row(record, names) for record in campaigns.to_pylist()]
    report.rows = sort_rows(rows, filters.sort)
    trend = daily_trend(wh, ids, filters.start, filters.end)
    report.days = [_day(record) for record in trend.to_pylist()]
    report.freshness = latest_loaded_day(wh, ids)
    return report


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
