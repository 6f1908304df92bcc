"""Read queries joining sponsored-offer spend to the offers behind it (``ads.offer_id`` →
``offers``): spend on offers nobody can buy, and each customer's top offers by spend.

An offer is *unavailable* when its latest fetch says ``ENDED`` or ``INACTIVE``, or no stock is
left (``stock_available = 0``); the status is today's, applied to the whole range asked. An
offer that was never fetched (no sales-account connection) is unknown, never unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa

from warehouse.offers_schema import OFFERS_TABLE, UNAVAILABLE_STATUSES
from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import scope_filter, scope_params
from warehouse.stats_schema import metric_sql_type

_MONEY = metric_sql_type("cost")
_UNAVAILABLE = (
    f"(o.status IN ({', '.join(repr(s) for s in UNAVAILABLE_STATUSES)}) OR o.stock_available = 0)"
)


def _offer_spend(wh: Warehouse) -> str:
    """Sponsored-offer spend, clicks and sales per customer, offer and currency in the scope."""
    return f"""
    SELECT a.customer_id, a.offer_id, s.currency, CAST(SUM(s.cost) AS {_MONEY}) AS spend,
           CAST(SUM(s.clicks) AS BIGINT) AS clicks,
           CAST(SUM(s.attributed_value) AS {_MONEY}) AS attributed_value
    FROM (
        SELECT customer_id, ad_type, ad_id, currency, SUM(cost) AS cost, SUM(clicks) AS clicks,
               SUM(attributed_value) AS attributed_value
        FROM ad_daily_stats
        WHERE ad_type = 'SPONSORED_OFFER' AND {scope_filter(wh)}
        GROUP BY customer_id, ad_type, ad_id, currency
    ) AS s
    JOIN ads AS a ON a.customer_id = s.customer_id AND a.ad_type = s.ad_type AND a.ad_id = s.ad_id
    WHERE a.offer_id IS NOT NULL
    GROUP BY a.customer_id, a.offer_id, s.currency"""  # noqa: S608 - constants only


def unavailable_offer_spend(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pa.Table:
    """Per customer and currency with sponsored-offer spend in ``start..end``: that spend
    (``sponsored_spend``), the part on unavailable offers (``unavailable_spend``, 0 if none) and
    how many such offers (``unavailable_offers``); in customer order (Arrow, exact)."""
    sql = f"""
SELECT p.customer_id, p.currency,
       CAST(SUM(p.spend) AS {_MONEY}) AS sponsored_spend,
       CAST(COALESCE(SUM(CASE WHEN {_UNAVAILABLE} THEN p.spend END), 0) AS {_MONEY})
           AS unavailable_spend,
       CAST(COUNT(CASE WHEN {_UNAVAILABLE} THEN 1 END) AS BIGINT) AS unavailable_offers
FROM ({_offer_spend(wh)}
) AS p
LEFT JOIN {OFFERS_TABLE} AS o ON o.customer_id = p.customer_id AND o.offer_id = p.offer_id
GROUP BY p.customer_id, p.currency
ORDER BY p.customer_id, p.currency"""  # noqa: S608 - constants only
    return wh.read(sql, scope_params(customer_ids, start, end))


def top_offers(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date, *, limit: int = 10
) -> pa.Table:
    """Each customer's ``limit`` offers with the most sponsored spend in ``start..end``, with the
    offer's name, price, stock and status (NULL if never fetched) and ``unavailable`` (NULL if
    unknown); per customer by spend, highest first (``spend_rank`` 1, 2, …)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    sql = f"""
SELECT r.customer_id, r.spend_rank, r.offer_id, r.offer_name, r.price, r.price_currency,
       r.stock_available, r.stock_sold, r.status, r.unavailable,
       r.currency, r.spend, r.clicks, r.attributed_value
FROM (
    SELECT p.customer_id, p.offer_id, o.name AS offer_name, o.price,
           o.currency AS price_currency, o.stock_available, o.stock_sold, o.status,
           CASE WHEN o.offer_id IS NULL THEN NULL WHEN {_UNAVAILABLE} THEN TRUE ELSE FALSE END
               AS unavailable,
           p.currency, p.spend, p.clicks, p.attributed_value,
           CAST(ROW_NUMBER() OVER (
               PARTITION BY p.customer_id ORDER BY p.spend DESC, p.offer_id, p.currency
           ) AS BIGINT) AS spend_rank
    FROM ({_offer_spend(wh)}
    ) AS p
    LEFT JOIN {OFFERS_TABLE} AS o ON o.customer_id = p.customer_id AND o.offer_id = p.offer_id
) AS r
WHERE r.spend_rank <= $limit
ORDER BY r.customer_id, r.spend_rank"""  # noqa: S608 - constants only
    return wh.read(sql, {**scope_params(customer_ids, start, end), "limit": int(limit)})


def top_offers_by_spend(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date, *, limit: int = 50
) -> pa.Table:
    """The ``limit`` offers with the most sponsored spend in ``start..end`` across all the
    customers (the columns of ``top_offers`` without the rank), highest spend first."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    sql = f"""
SELECT p.customer_id, p.offer_id, o.name AS offer_name, o.price, o.currency AS price_currency,
       o.stock_available, o.stock_sold, o.status,
       CASE WHEN o.offer_id IS NULL THEN NULL WHEN {_UNAVAILABLE} THEN TRUE ELSE FALSE END
           AS unavailable,
       p.currency, p.spend, p.clicks, p.attributed_value
FROM ({_offer_spend(wh)}
) AS p
LEFT JOIN {OFFERS_TABLE} AS o ON o.customer_id = p.customer_id AND o.offer_id = p.offer_id
ORDER BY p.spend DESC, p.customer_id, p.offer_id, p.currency
LIMIT $limit"""  # noqa: S608 - constants only
    return wh.read(sql, {**scope_params(customer_ids, start, end), "limit": int(limit)})
