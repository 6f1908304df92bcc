"""Read queries of the portal, the exports, the asset checks and the pipeline.

Every function takes the customers it may see explicitly (the portal enforces scope by
passing only the ids a user is allowed); none of them writes. Money stays ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pyarrow as pa

from settings import defaults
from warehouse.stats_loader import Warehouse
from warehouse.stats_schema import (
    API_RATIOS,
    LOAD_GENERATIONS_TABLE,
    METRIC_COLUMNS,
    OPTIONAL_METRIC_COLUMNS,
    RATIOS,
    SUMMARY_GROUP,
    SUMMARY_METRICS,
    SUMMARY_TABLE,
    metric_sql_type,
    ratio_columns_sql,
    ratios_sql,
    summary_sums_sql,
    summed_metrics_sql,
)

_IDS = "SELECT DISTINCT UNNEST(CAST($customer_ids AS VARCHAR[]))"
_IN_RANGE = "day BETWEEN $start AND $end"
_METRICS = ", ".join(f"t.{name}" for name in METRIC_COLUMNS)
_KEY = "customer_id, ad_type, ad_id, day"
# A recomputed ratio may differ from the API's by one unit in the API's last decimal place
# (rounding modes differ); a larger gap means the stored base metrics are wrong.
_RATIO_TOLERANCE = {"ctr": "0.0001", "cpc": "0.01", "roas": "0.01", "cpm": "0.01"}
# The ratios ALLEGRO_ADS_API_RATIO_UNITS speaks of (CPC and CPM are money, never percentages).
UNIT_RATIOS = ("ctr", "roas")


def campaign_report_table(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pa.Table:
    """Per customer and campaign over ``start..end``: metrics, CTR, CPC, ROAS; top spend first
    (Arrow, decimals exact)."""
    ratios = ratio_columns_sql(wh.dialect, "t")
    sql = f"""
SELECT t.customer_id, t.campaign_id, c.name AS campaign_name, t.currency,
       t.views, t.clicks, {ratios["ctr"]} AS ctr, t.cost, {ratios["cpc"]} AS cpc,
       t.interest, t.attributed_count, t.attributed_value, {ratios["roas"]} AS roas
FROM (
    SELECT customer_id, campaign_id, currency, {summed_metrics_sql()}
    FROM {SUMMARY_TABLE} WHERE {_in_scope(wh)}
    GROUP BY customer_id, campaign_id, currency
) AS t
LEFT JOIN campaigns AS c ON c.customer_id = t.customer_id AND c.campaign_id = t.campaign_id
ORDER BY t.customer_id, t.cost DESC, t.campaign_id"""  # noqa: S608 - constants only
    return wh.read(sql, _scope(customer_ids, start, end))


def daily_trend(wh: Warehouse, customer_ids: Sequence[str], start: date, end: date) -> pa.Table:
    """Per day with data, the customers' cost, clicks and attributed value summed together
    (the report's trend chart; what summing ``customer_daily_stats`` per day gives), in day
    order."""
    money = metric_sql_type("cost")
    sql = f"""
SELECT day, CAST(SUM(cost) AS {money}) AS cost, CAST(SUM(clicks) AS BIGINT) AS clicks,
       CAST(SUM(attributed_value) AS {money}) AS attributed_value
FROM {SUMMARY_TABLE} WHERE {_in_scope(wh)}
GROUP BY day
ORDER BY day"""  # noqa: S608 - constants only
    return wh.read(sql, _scope(customer_ids, start, end))


def customer_summary(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """A row per requested customer (zeros if no data): campaigns, spend, clicks, ROAS, latest day.

    ``latest_day`` is the latest day recorded in ``load_log`` at all, not only within the range.
    """
    sums = ", ".join(
        f"CAST(COALESCE(s.{name}, 0) AS {metric_sql_type(name)}) AS {name}"
        for name in METRIC_COLUMNS
    )
    rolled_up = ", ".join(f"SUM(c.{name}) AS {name}" for name in METRIC_COLUMNS)
    # Campaigns first, then customers: cheaper than COUNT(DISTINCT campaign_id) over the summary.
    sql = f"""
SELECT t.customer_id, t.currency, t.campaigns, {_METRICS}, {ratios_sql(wh.dialect, "t")},
       t.latest_day
FROM (
    SELECT ids.customer_id, s.currency, CAST(COALESCE(s.campaigns, 0) AS BIGINT) AS campaigns,
           {sums}, l.latest_day
    FROM ({_IDS} AS customer_id) AS ids
    LEFT JOIN (
        SELECT c.customer_id, MAX(c.currency) AS currency, COUNT(*) AS campaigns, {rolled_up}
        FROM (
            SELECT customer_id, campaign_id, MAX(currency) AS currency, {summed_metrics_sql()}
            FROM {SUMMARY_TABLE} WHERE {_in_scope(wh)}
            GROUP BY customer_id, campaign_id
        ) AS c
        GROUP BY c.customer_id
    ) AS s ON s.customer_id = ids.customer_id
    LEFT JOIN (
        SELECT customer_id, MAX(day) AS latest_day FROM load_log
        WHERE {_customer_in(wh)} GROUP BY customer_id
    ) AS l ON l.customer_id = ids.customer_id
) AS t
ORDER BY t.customer_id"""  # noqa: S608 - constants only
    return _frame(wh, sql, _scope(customer_ids, start, end))


def latest_loaded_day(wh: Warehouse, customer_ids: Sequence[str]) -> dict[str, date | None]:
    """Each customer's latest day in ``load_log`` (``None`` if nothing was ever loaded)."""
    sql = f"""
SELECT customer_id, MAX(day) AS latest_day FROM load_log
WHERE {_customer_in(wh)} GROUP BY customer_id"""  # noqa: S608 - constants only
    table = wh.read(sql, {"customer_ids": _ids(customer_ids)})
    found = dict(
        zip(
            table.column("customer_id").to_pylist(),
            table.column("latest_day").to_pylist(),
            strict=True,
        )
    )
    return {customer_id: found.get(customer_id) for customer_id in customer_ids}


def load_generations(wh: Warehouse, customer_ids: Sequence[str]) -> dict[str, int]:
    """Each customer's load generation (0 if never loaded since schema 5): a new value with
    every committed load of the customer's statistics or offers, never one it had before, so
    equal generations mean equal data."""
    params: dict[str, object] = {}
    sql = f"SELECT customer_id, generation FROM {LOAD_GENERATIONS_TABLE}"  # noqa: S608 - constants
    if wh.dialect == "postgresql":
        sql += f" WHERE {_customer_in(wh)}"
        params["customer_ids"] = _ids(customer_ids)
    else:
        # The whole table (a row per customer ever loaded): every portal page reads it, and
        # DuckDB reads its few hundred rows in a third of the time it takes to filter them by
        # a list of ids (0.6 against 1.8 ms of CPU at 50 ids; more with more ids).
        _ids(customer_ids)
    table = wh.read(sql, params)
    found = dict(
        zip(
            table.column("customer_id").to_pylist(),
            table.column("generation").to_pylist(),
            strict=True,
        )
    )
    return {customer_id: int(found.get(customer_id, 0)) for customer_id in customer_ids}


def loaded_customers(wh: Warehouse) -> list[str]:
    """Every customer with at least one ``load_log`` row, sorted (for staff-wide exports)."""
    table = wh.read("SELECT DISTINCT customer_id FROM load_log ORDER BY customer_id")
    return [str(customer_id) for customer_id in table.column("customer_id").to_pylist()]


def graphic_ad_report(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pa.Table:
    """Per customer and graphic ad over ``start..end``: days with data, summed metrics, ratios
    (CTR, CPC, ROAS, CPM) and ``max_daily_unique_reach``; top spend first (Arrow, exact).

    Reach counts distinct users per day and cannot be added up across days: the most the ad
    reached on one day of the range is the only honest figure for a period (at least that many
    distinct users saw it).
    """
    ratios = ratios_sql(wh.dialect, "t")
    sql = f"""
SELECT t.customer_id, t.campaign_id, c.name AS campaign_name, t.ad_id, a.name AS ad_name,
       t.currency, t.days, {", ".join("t." + m for m in SUMMARY_METRICS)},
       t.max_daily_unique_reach, {ratios}
FROM (
    SELECT customer_id, campaign_id, ad_id, currency, CAST(COUNT(*) AS BIGINT) AS days,
           {summed_metrics_sql()}, CAST(MAX(unique_reach) AS BIGINT) AS max_daily_unique_reach
    FROM ad_daily_stats WHERE ad_type = 'GRAPHIC_AD' AND {_in_scope(wh)}
    GROUP BY customer_id, campaign_id, ad_id, currency
) AS t
LEFT JOIN campaigns AS c ON c.customer_id = t.customer_id AND c.campaign_id = t.campaign_id
LEFT JOIN ads AS a
    ON a.customer_id = t.customer_id AND a.ad_type = 'GRAPHIC_AD' AND a.ad_id = t.ad_id
ORDER BY t.customer_id, t.cost DESC, t.ad_id"""  # noqa: S608 - constants only
    return wh.read(sql, _scope(customer_ids, start, end))


def campaign_daily(wh: Warehouse, customer_ids: Sequence[str], start: date, end: date) -> pa.Table:
    """``campaign_daily_stats`` rows of ``start..end`` as Arrow (decimals exact), in key order."""
    sql = f"""
SELECT * FROM campaign_daily_stats WHERE {_in_scope(wh)}
ORDER BY customer_id, day, campaign_id"""  # noqa: S608 - constants only
    return wh.read(sql, _scope(customer_ids, start, end))


def missing_days(wh: Warehouse, customer_id: str, start: date, end: date) -> list[date]:
    """Days in ``start..end`` with no ``load_log`` row for the customer: the days to re-run."""
    sql = (
        "SELECT day FROM load_log WHERE customer_id = $customer_id AND day BETWEEN $start AND $end"
    )
    params = {"customer_id": customer_id, "start": start, "end": end}
    loaded = set(wh.read(sql, params).column("day").to_pylist())
    every_day = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return [day for day in every_day if day not in loaded]


def duplicate_keys(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Fact keys stored more than once in ``start..end`` (``copies``); empty when healthy."""
    sql = f"""
SELECT {_KEY}, COUNT(*) AS copies FROM ad_daily_stats WHERE {_IN_RANGE}
GROUP BY {_KEY} HAVING COUNT(*) > 1
ORDER BY {_KEY}"""  # noqa: S608 - constants only
    return _frame(wh, sql, {"start": start, "end": end})


def negative_metrics(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Fact rows in ``start..end`` with any base metric below zero (key and metrics)."""
    negative = " OR ".join(f"{name} < 0" for name in METRIC_COLUMNS)
    sql = f"""
SELECT {_KEY}, {", ".join(METRIC_COLUMNS)} FROM ad_daily_stats
WHERE {_IN_RANGE} AND ({negative})
ORDER BY {_KEY}"""  # noqa: S608 - constants only
    return _frame(wh, sql, {"start": start, "end": end})


def ratio_mismatches(
    wh: Warehouse,
    start: date,
    end: date,
    *,
    api_ratio_units: defaults.RatioUnits = defaults.API_RATIO_UNITS,
) -> pd.DataFrame:
    """Fact rows whose CTR/CPC/ROAS/CPM recomputed from base metrics differ from the API's values.

    Tolerance: one unit in the API's last decimal place (0.0001 CTR, 0.01 CPC, ROAS and CPM). A
    ratio with a zero denominator is compared as 0 (the API reports "0" there). A ratio the API
    did not send for the row's ad type (CPC of a graphic ad, CPM of a sponsored offer) is not
    compared. ``api_ratio_units="percent"``: the API's CTR and ROAS are percentages, so ours are
    compared times 100 (the stored values stay Allegro's; exact decimals, no float division).
    """
    ratios = ratio_columns_sql(wh.dialect, "f")
    recomputed = ", ".join(f"{sql} AS {name}" for name, sql in ratios.items())
    factors = {
        name: 100 if api_ratio_units == "percent" and name in UNIT_RATIOS else 1 for name in RATIOS
    }
    differs = " OR ".join(_ratio_differs(name, factor) for name, factor in factors.items())
    # DuckDB computes the exact ratios with 128-bit integers (~0.4 us a row, most of a
    # backfill's checks); a floating-point test first passes on only the rows that might differ.
    may_differ = (
        " AND (" + " OR ".join(_ratio_may_differ(n, f) for n, f in factors.items()) + ")"
        if wh.dialect == "duckdb"
        else ""
    )
    pairs = ", ".join(f"r.{name}, r.{API_RATIOS[name]}" for name in RATIOS)
    sql = f"""
SELECT r.customer_id, r.ad_type, r.ad_id, r.day, r.views, r.clicks, r.cost, r.attributed_value,
       {pairs}
FROM (
    SELECT f.*, {recomputed} FROM ad_daily_stats AS f
    WHERE f.day BETWEEN $start AND $end{may_differ}
) AS r
WHERE {differs}
ORDER BY r.customer_id, r.ad_type, r.ad_id, r.day"""  # noqa: S608 - constants only
    return _frame(wh, sql, {"start": start, "end": end})


def _ratio_differs(name: str, factor: int) -> str:
    """SQL: our ``name`` times ``factor`` is further from the API's than the tolerance allows."""
    ours = f"COALESCE(r.{name}, 0)" if factor == 1 else f"COALESCE(r.{name}, 0) * {factor}"
    tolerance = Decimal(_RATIO_TOLERANCE[name]) * factor
    return f"ABS({ours} - r.{API_RATIOS[name]}) > {tolerance}"


def _ratio_may_differ(name: str, factor: int) -> str:
    """SQL, true for every row whose ``name`` times ``factor`` ``_ratio_differs`` from the API's
    (and for a few more): the ratio in floating point, before rounding to its decimal places.

    Why no differing row is missed: the exact ratio ``r`` is the quotient ``x`` rounded to
    ``scale`` places, so ``|r - x| <= unit / 2``; if ``|r*f - api| > tolerance*f`` then
    ``|x*f - api| > (tolerance - unit/2)*f``. Floating point errs by ~1e-16 of the magnitudes;
    the test allows 1e-9 of them (and more than the largest error near zero).
    """
    ratio = RATIOS[name]
    unit = Decimal(1).scaleb(-ratio.scale)
    bound = (Decimal(_RATIO_TOLERANCE[name]) - unit / 2) * factor
    if bound <= 0:  # pragma: no cover - a constant: every tolerance is at least one unit
        raise ValueError(f"the {name} tolerance must be at least one unit of its last place")
    quotient = (
        f"COALESCE(CAST(f.{ratio.numerator} AS DOUBLE) * {ratio.factor * factor}"
        f" / NULLIF(CAST(f.{ratio.denominator} AS DOUBLE), 0), 0)"
    )
    api = f"CAST(f.{API_RATIOS[name]} AS DOUBLE)"
    slack = f"1e-9 * (1 + ABS({quotient}) + ABS({api}))"
    return f"ABS({quotient} - {api}) > {bound} - {slack}"


def summary_mismatches(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Campaign-days of ``start..end`` where ``campaign_day_totals`` disagrees with the facts
    summed (a row missing on either side, or any metric different); empty when healthy.

    Columns: the key and currency, then ``summary_<metric>`` and ``facts_<metric>`` for each
    summed metric (NULL on the side that lacks the row).
    """
    on = " AND ".join(f"s.{name} = f.{name}" for name in SUMMARY_GROUP)
    keys = ", ".join(f"COALESCE(s.{name}, f.{name}) AS {name}" for name in SUMMARY_GROUP)
    sides = ", ".join(
        f"s.{name} AS summary_{name}, f.{name} AS facts_{name}" for name in SUMMARY_METRICS
    )
    differs = " OR ".join(
        [
            "s.customer_id IS NULL",
            "f.customer_id IS NULL",
            *(f"s.{name} <> f.{name}" for name in METRIC_COLUMNS),
            *(f"s.{name} IS DISTINCT FROM f.{name}" for name in OPTIONAL_METRIC_COLUMNS),
        ]
    )
    group = ", ".join(SUMMARY_GROUP)
    sql = f"""
SELECT {keys}, {sides}
FROM (SELECT * FROM {SUMMARY_TABLE} WHERE {_IN_RANGE}) AS s
FULL OUTER JOIN (
    SELECT {group}, {summary_sums_sql()}
    FROM ad_daily_stats WHERE {_IN_RANGE}
    GROUP BY {group}
) AS f ON {on}
WHERE {differs}
ORDER BY 1, 2, 3, 4"""  # noqa: S608 - constants only
    return _frame(wh, sql, {"start": start, "end": end})


def scope_filter(wh: Warehouse, alias: str = "") -> str:
    """SQL: rows of ``$start..$end`` of the customers in ``$customer_ids`` (columns ``day`` and
    ``customer_id``, of the relation ``alias`` if given). Bind ``scope_params``."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}day BETWEEN $start AND $end AND {_customer_in(wh, f'{prefix}customer_id')}"


def scope_params(customer_ids: Sequence[str], start: date, end: date) -> dict[str, object]:
    """The parameters of ``scope_filter``; ``TypeError`` for a bare string of ids."""
    return _scope(customer_ids, start, end)


def _customer_in(wh: Warehouse, column: str = "customer_id") -> str:
    """``customer_id`` is one of ``$customer_ids``, as a plain filter rather than a subquery.

    A filter on a grouping column is pushed below the views' GROUP BY and into the scan (DuckDB
    then skips row groups by their customer_id min/max; PostgreSQL probes its (customer_id, day)
    index once per id). ``IN (SELECT UNNEST(...))`` became a join above the view's aggregation
    instead: every customer's days were summed, then most thrown away.
    """
    if wh.dialect == "postgresql":
        return f"{column} = ANY(CAST($customer_ids AS VARCHAR[]))"
    return f"list_contains(CAST($customer_ids AS VARCHAR[]), {column})"


def _in_scope(wh: Warehouse) -> str:
    """Rows of ``$start..$end`` of the customers in ``$customer_ids``."""
    return f"day BETWEEN $start AND $end AND {_customer_in(wh)}"


def _scope(customer_ids: Sequence[str], start: date, end: date) -> dict[str, object]:
    return {"customer_ids": _ids(customer_ids), "start": start, "end": end}


def _ids(customer_ids: Sequence[str]) -> list[str]:
    if isinstance(customer_ids, str):
        raise TypeError(f"customer_ids must be a list of ids, not the string {customer_ids!r}")
    return list(customer_ids)


def _frame(wh: Warehouse, sql: str, params: dict[str, object]) -> pd.DataFrame:
    frame: pd.DataFrame = wh.read(sql, params).to_pandas()
    return frame
