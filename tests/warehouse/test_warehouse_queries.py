"""The read queries of the portal, exports, asset checks and pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from warehouse import stats_queries as q
from warehouse.stats_loader import Warehouse

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

FETCHED = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)
D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def campaign_report(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """The report's campaign table as pandas (Decimals kept), for readable assertions."""
    frame: pd.DataFrame = q.campaign_report_table(wh, customer_ids, start, end).to_pandas()
    return frame


def daily_totals(
    wh: Warehouse, customer_ids: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """The analysts' view ``customer_daily_stats``: these customers' days of ``start..end``."""
    sql = (
        "SELECT * FROM customer_daily_stats WHERE day BETWEEN $start AND $end "
        "ORDER BY customer_id, day"
    )
    frame = wh.read(sql, {"start": start, "end": end}).to_pandas()
    chosen: pd.DataFrame = frame[frame["customer_id"].isin(customer_ids)]
    return chosen


@pytest.fixture
def two_customers(warehouse: Warehouse, factory: StatFactory) -> Warehouse:
    """cust-1: two campaigns on D1..D2; cust-2: one campaign on D1; nothing else."""
    cust_1 = [
        factory.row(
            day=D1,
            campaign_id="big",
            ad_id="a1",
            views=1000,
            clicks=40,
            cost="20.00",
            attributed_count=3,
            attributed_value="150.00",
        ),
        factory.row(
            day=D2,
            campaign_id="big",
            ad_id="a1",
            views=1000,
            clicks=10,
            cost="5.00",
            attributed_count=1,
            attributed_value="50.00",
        ),
        factory.row(
            day=D1,
            campaign_id="small",
            ad_id="a2",
            views=500,
            clicks=0,
            cost="0.00",
            attributed_count=0,
            attributed_value="0.00",
        ),
    ]
    cust_2 = [factory.row(day=D1, campaign_id="other", ad_id="b1", cost="99.99")]
    for customer, rows, end in (("cust-1", cust_1, D2), ("cust-2", cust_2, D1)):
        table = factory.table(customer, rows)
        warehouse.load_slice(customer, D1, end, table, run_id="r", fetched_at=FETCHED)
    return warehouse


def test_campaign_report_sums_the_period_per_campaign_biggest_spend_first(
    two_customers: Warehouse,
) -> None:
    report = campaign_report(two_customers, ["cust-1"], D1, D3)

    assert report.to_dict("records") == [
        {
            "customer_id": "cust-1",
            "campaign_id": "big",
            "campaign_name": "Campaign big",
            "currency": "PLN",
            "views": 2000,
            "clicks": 50,
            "ctr": Decimal("0.0250"),
            "cost": Decimal("25.00"),
            "cpc": Decimal("0.50"),
            "interest": 25,
            "attributed_count": 4,
            "attributed_value": Decimal("200.00"),
            "roas": Decimal("8.00"),
        },
        {
            "customer_id": "cust-1",
            "campaign_id": "small",
            "campaign_name": "Campaign small",
            "currency": "PLN",
            "views": 500,
            "clicks": 0,
            "ctr": Decimal("0.0000"),
            "cost": Decimal("0.00"),
            "cpc": None,
            "interest": 0,
            "attributed_count": 0,
            "attributed_value": Decimal("0.00"),
            "roas": None,
        },
    ]


def test_queries_see_only_the_customers_passed(two_customers: Warehouse) -> None:
    assert set(campaign_report(two_customers, ["cust-2"], D1, D3)["customer_id"]) == {"cust-2"}
    assert campaign_report(two_customers, [], D1, D3).empty
    assert q.daily_trend(two_customers, ["nobody"], D1, D3).num_rows == 0
    with pytest.raises(TypeError, match="list of ids"):
        campaign_report(two_customers, "cust-1", D1, D3)


def test_daily_totals_give_one_row_per_customer_and_day(two_customers: Warehouse) -> None:
    totals = daily_totals(two_customers, ["cust-1", "cust-2"], D1, D3)

    assert [
        (r["customer_id"], r["day"], r["cost"], r["ctr"]) for r in totals.to_dict("records")
    ] == [
        ("cust-1", D1, Decimal("20.00"), Decimal("0.0267")),
        ("cust-1", D2, Decimal("5.00"), Decimal("0.0100")),
        ("cust-2", D1, Decimal("99.99"), Decimal("0.0250")),
    ]


def test_customer_summary_has_a_row_for_every_requested_customer(
    two_customers: Warehouse,
) -> None:
    summary = q.customer_summary(two_customers, ["cust-2", "cust-1", "new"], D2, D3)

    rows = {r["customer_id"]: r for r in summary.to_dict("records")}
    assert list(rows) == ["cust-1", "cust-2", "new"]
    assert (rows["cust-1"]["campaigns"], rows["cust-1"]["cost"], rows["cust-1"]["roas"]) == (
        1,
        Decimal("5.00"),
        Decimal("10.00"),
    )
    assert rows["cust-1"]["latest_day"] == D2
    assert (rows["cust-2"]["campaigns"], rows["cust-2"]["cost"], rows["cust-2"]["latest_day"]) == (
        0,
        Decimal("0.00"),
        D1,
    )
    assert rows["new"]["latest_day"] is None and rows["new"]["roas"] is None


def test_latest_loaded_day_and_missing_days_come_from_load_log(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    empty = factory.table("cust-1", [])
    warehouse.load_slice("cust-1", D1, D1, empty, run_id="r", fetched_at=FETCHED)
    warehouse.load_slice("cust-1", D3, D3, empty, run_id="r", fetched_at=FETCHED)

    assert q.latest_loaded_day(warehouse, ["cust-1", "never"]) == {"cust-1": D3, "never": None}
    assert q.missing_days(warehouse, "cust-1", D1, date(2024, 3, 4)) == [D2, date(2024, 3, 4)]
    assert q.loaded_customers(warehouse) == ["cust-1"]


def test_health_queries_are_empty_on_clean_data(
    two_customers: Warehouse,
) -> None:
    assert q.duplicate_keys(two_customers, D1, D3).empty
    assert q.negative_metrics(two_customers, D1, D3).empty
    assert q.ratio_mismatches(two_customers, D1, D3).empty


def test_negative_metrics_are_reported_with_their_key(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    rows = [factory.row(ad_id="ok"), factory.row(ad_id="refund", cost="-3.00")]
    table = factory.table("cust-1", rows)
    warehouse.load_slice("cust-1", D1, D1, table, run_id="r", fetched_at=FETCHED)

    negative = q.negative_metrics(warehouse, D1, D1)

    assert negative[["customer_id", "ad_id", "cost"]].to_dict("records") == [
        {"customer_id": "cust-1", "ad_id": "refund", "cost": Decimal("-3.00")}
    ]


def test_ratio_mismatches_flag_only_gaps_beyond_rounding(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    rows = [
        factory.row(ad_id="exact"),  # ctr 0.0250, cpc 0.50, roas 8.00
        factory.row(ad_id="rounding", ctr=Decimal("0.0251"), effective_cpc=Decimal("0.49")),
        factory.row(ad_id="wrong-cpc", effective_cpc=Decimal("0.55")),
        factory.row(
            ad_id="zero-views",
            views=0,
            clicks=0,
            ctr=Decimal("0"),
            cost="0.00",
            effective_cpc=Decimal("0"),
            rate_of_return=Decimal("0"),
        ),
    ]
    table = factory.table("cust-1", rows)
    warehouse.load_slice("cust-1", D1, D1, table, run_id="r", fetched_at=FETCHED)

    mismatches = q.ratio_mismatches(warehouse, D1, D1)

    assert mismatches[["ad_id", "cpc", "api_cpc"]].to_dict("records") == [
        {"ad_id": "wrong-cpc", "cpc": Decimal("0.50"), "api_cpc": Decimal("0.55")}
    ]


def test_ratio_mismatches_flag_a_gap_of_two_units_at_any_magnitude(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    rows = [
        factory.row(ad_id="small", effective_cpc=Decimal("0.48")),  # cpc 0.50
        # cpc 3333333333333.33, near the largest the exact ratios take (cost * 100 must fit)
        factory.row(
            ad_id="huge",
            clicks=3,
            cost="10000000000000.00",
            effective_cpc=Decimal("3333333333333.31"),
        ),
        factory.row(
            ad_id="huge-rounding",
            clicks=3,
            cost="10000000000000.00",
            effective_cpc=Decimal("3333333333333.34"),
        ),
    ]
    table = factory.table("cust-1", rows)
    warehouse.load_slice("cust-1", D1, D1, table, run_id="r", fetched_at=FETCHED)

    mismatches = q.ratio_mismatches(warehouse, D1, D1)

    assert mismatches[["ad_id", "cpc", "api_cpc"]].to_dict("records") == [
        {
            "ad_id": "huge",
            "cpc": Decimal("3333333333333.33"),
            "api_cpc": Decimal("3333333333333.31"),
        },
        {"ad_id": "small", "cpc": Decimal("0.50"), "api_cpc": Decimal("0.48")},
    ]


def test_ratio_mismatches_read_the_apis_ctr_and_roas_as_percentages_when_declared(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    # ctr 0.0250 and roas 8.00 derived; Allegro in percent would send 2.50 and 800.00.
    percent = factory.row(ad_id="percent", ctr=Decimal("2.50"), rate_of_return=Decimal("800.00"))
    table = factory.table("cust-1", [percent])
    warehouse.load_slice("cust-1", D1, D1, table, run_id="r", fetched_at=FETCHED)

    as_percent = q.ratio_mismatches(warehouse, D1, D1, api_ratio_units="percent")
    as_fraction = q.ratio_mismatches(warehouse, D1, D1, api_ratio_units="fraction")

    assert as_percent.empty
    # Flagged as fractions, and shown as Allegro sent them (the warehouse keeps its values).
    assert as_fraction[["ad_id", "api_ctr", "api_roas"]].to_dict("records") == [
        {"ad_id": "percent", "api_ctr": Decimal("2.5000"), "api_roas": Decimal("800.00")}
    ]
