"""Read queries comparing a period with the one just before it (same length), for the portal's
overview and ad-type pages: one aggregated statement per panel, whatever the number of
customers.

Each metric comes twice, ``<metric>`` for ``$start..$end`` and ``prev_<metric>`` for
``$prev_start..$prev_end``; both sums come from one scan of ``$prev_start..$end`` with the
rows split by a CASE on the day. They read the summaries (``campaign_day_totals`` per
customer, ``ad_type_day_totals`` per ad type and for reach), never the facts. Money stays
``Decimal`` (Arrow decimals).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pyarrow as pa

from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import scope_filter, scope_params
from warehouse.stats_schema import AD_TYPE_SUMMARY_TABLE, SUMMARY_TABLE, metric_sql_type

COMPARED_METRICS = ("views", "clicks", "cost", "attributed_count", "attributed_value")
_CURRENT = "day >= $current_start"


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def customer_comparison(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pa.Table:
    """A row per requested customer (zeros when it has no data): its currency (NULL without
    data), the compared metrics of ``start..end`` and ``prev_…`` of the previous period, and
    ``latest_day``, the latest day ever loaded for it (NULL if none); in customer-id order."""
    current, previous = _split_sums()
    zeros = ", ".join(
        f"CAST(COALESCE(s.{name}, 0) AS {metric_sql_type(name)}) AS {name}, "
        f"CAST(COALESCE(s.prev_{name}, 0) AS {metric_sql_type(name)}) AS prev_{name}"
        for name in COMPARED_METRICS
    )
    sql = f"""
SELECT ids.customer_id, s.currency, {zeros}, l.latest_day
FROM (SELECT DISTINCT UNNEST(CAST($customer_ids AS VARCHAR[])) AS customer_id) AS ids
LEFT JOIN (
    SELECT customer_id, MAX(currency) AS currency, {current}, {previous}
    FROM {SUMMARY_TABLE} WHERE {scope_filter(wh)}
    GROUP BY customer_id
) AS s ON s.customer_id = ids.customer_id
LEFT JOIN (
    SELECT customer_id, MAX(day) AS latest_day FROM load_log
    WHERE {_customer_in(wh)} GROUP BY customer_id
) AS l ON l.customer_id = ids.customer_id
ORDER BY ids.customer_id"""  # noqa: S608 - constants only
    return wh.read(sql, _params(customer_ids, start, end))


def ad_type_comparison(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pa.Table:
    """A row per ad type and currency with data in either period: the compared metrics of both
    periods, and ``peak_daily_reach``, the most distinct users one ad reached on one day of
    ``start..end`` (reach is per ad and day and is never added up; NULL for sponsored offers)."""
    current, previous = _split_sums()
    sql = f"""
SELECT ad_type, currency, {current}, {previous},
       CAST(MAX(CASE WHEN {_CURRENT} THEN peak_unique_reach END) AS BIGINT) AS peak_daily_reach
FROM {AD_TYPE_SUMMARY_TABLE} WHERE {scope_filter(wh)}
GROUP BY ad_type, currency
ORDER BY ad_type, currency"""  # noqa: S608 - constants only
    return wh.read(sql, _params(customer_ids, start, end))


def daily_reach(wh: Warehouse, customer_ids: Sequence[str], start: date, end: date) -> pa.Table:
    """Per day of ``start..end`` with graphic-ad data: views, cost and the largest unique reach
    of one ad that day (``peak_reach``); in day order. Each day stands alone."""
    money = metric_sql_type("cost")
    sql = f"""
SELECT day, CAST(SUM(views) AS BIGINT) AS views, CAST(SUM(cost) AS {money}) AS cost,
       CAST(MAX(peak_unique_reach) AS BIGINT) AS peak_reach
FROM {AD_TYPE_SUMMARY_TABLE} WHERE ad_type = 'GRAPHIC_AD' AND {scope_filter(wh)}
GROUP BY day
ORDER BY day"""  # noqa: S608 - constants only
    return wh.read(sql, scope_params(customer_ids, start, end))


def _split_sums() -> tuple[str, str]:
    """SQL select items: each compared metric summed over the current days, then over the
    previous ones (a day before ``$current_start`` belongs to the previous period)."""
    current = ", ".join(
        f"CAST(COALESCE(SUM(CASE WHEN {_CURRENT} THEN {name} END), 0) "
        f"AS {metric_sql_type(name)}) AS {name}"
        for name in COMPARED_METRICS
    )
    previous = ", ".join(
        f"CAST(COALESCE(SUM(CASE WHEN NOT ({_CURRENT}) THEN {name} END), 0) "
        f"AS {metric_sql_type(name)}) AS prev_{name}"
        for name in COMPARED_METRICS
    )
    return current, previous


def _customer_in(wh: Warehouse) -> str:
    if wh.dialect == "postgresql":
        return "customer_id = ANY(CAST($customer_ids AS VARCHAR[]))"
    return "list_contains(CAST($customer_ids AS VARCHAR[]), customer_id)"


def _params(customer_ids: Sequence[str], start: date, end: date) -> dict[str, object]:
    """The scope spans both periods; ``$current_start`` splits them."""
    prev_start, _ = previous_period(start, end)
    return {**scope_params(customer_ids, prev_start, end), "current_start": start}
