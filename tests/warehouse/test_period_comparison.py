"""The overview's and the ad-type page's queries: a period and the previous period of the same
length from one statement, per customer (zeros for a customer without data) and per ad type,
graphic-ad reach as a daily peak, never a sum."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from allegro_resource.models import AdType
from warehouse.comparison_queries import (
    ad_type_comparison,
    customer_comparison,
    daily_reach,
)
from warehouse.stats_loader import Warehouse

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

# The period is March 3..4; the previous one March 1..2.
D1, D2, D3, D4 = (date(2024, 3, day) for day in (1, 2, 3, 4))
FETCHED = datetime(2024, 3, 10, 5, 0, tzinfo=UTC)


def _load(wh: Warehouse, factory: StatFactory, customer_id: str, costs: dict[date, str]) -> None:
    rows = [factory.row(day=day, cost=cost, clicks=10) for day, cost in costs.items()]
    first, last = min(costs), max(costs)
    wh.load_slice(
        customer_id, first, last, factory.table(customer_id, rows), run_id=None, fetched_at=FETCHED
    )


def test_each_customer_gets_the_period_and_the_previous_one_from_one_query(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load(warehouse, factory, "cust-1", {D1: "1.00", D2: "2.00", D3: "4.00", D4: "8.00"})
    _load(warehouse, factory, "cust-2", {D3: "5.00"})

    rows = customer_comparison(warehouse, ["cust-1", "cust-2", "cust-3"], D3, D4).to_pylist()

    found = {
        r["customer_id"]: (r["cost"], r["prev_cost"], r["clicks"], r["prev_clicks"]) for r in rows
    }
    assert found == {
        "cust-1": (Decimal("12.00"), Decimal("3.00"), 20, 20),
        "cust-2": (Decimal("5.00"), Decimal("0.00"), 10, 0),
        "cust-3": (Decimal("0.00"), Decimal("0.00"), 0, 0),  # nothing loaded: zeros, no gap
    }
    latest = {r["customer_id"]: r["latest_day"] for r in rows}
    assert latest == {"cust-1": D4, "cust-2": D3, "cust-3": None}


def test_other_customers_never_count(warehouse: Warehouse, factory: StatFactory) -> None:
    _load(warehouse, factory, "cust-1", {D3: "4.00"})
    _load(warehouse, factory, "cust-2", {D3: "5.00"})

    rows = customer_comparison(warehouse, ["cust-2"], D3, D4).to_pylist()

    assert [(r["customer_id"], r["cost"]) for r in rows] == [("cust-2", Decimal("5.00"))]


def test_ad_types_are_compared_apart_and_reach_is_the_peak_of_one_ad_on_one_day(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    reach = {
        (D2, "banner-1"): 900,
        (D3, "banner-1"): 100,
        (D3, "banner-2"): 250,
        (D4, "banner-1"): 200,
        (D4, "banner-2"): 150,
    }
    offers = [factory.row(day=day, ad_id="offer-ad", cost="2.00") for day in (D1, D2, D3, D4)]
    banners = [
        factory.row(
            day=day, ad_id=ad_id, ad_type=AdType.GRAPHIC_AD, cost="3.00", unique_reach=value
        )
        for (day, ad_id), value in reach.items()
    ]
    table = factory.table("cust-1", offers + banners)
    warehouse.load_slice("cust-1", D1, D4, table, run_id=None, fetched_at=FETCHED)

    found = {
        r["ad_type"]: (r["cost"], r["prev_cost"], r["peak_daily_reach"])
        for r in ad_type_comparison(warehouse, ["cust-1"], D3, D4).to_pylist()
    }
    assert found == {
        "SPONSORED_OFFER": (Decimal("4.00"), Decimal("4.00"), None),
        # 250 on March 3 is the peak of the period; 900 fell in the previous period.
        "GRAPHIC_AD": (Decimal("12.00"), Decimal("3.00"), 250),
    }
    per_day = daily_reach(warehouse, ["cust-1"], D3, D4).to_pylist()
    assert [(r["day"], r["peak_reach"], r["cost"]) for r in per_day] == [
        (D3, 250, Decimal("6.00")),
        (D4, 200, Decimal("6.00")),
    ]
