"""Dimension tables (latest names, widened first/last seen) and the analysts' views."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from warehouse.stats_loader import Warehouse

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

FETCHED = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)
DAY = date(2024, 3, 1)


def _campaign(wh: Warehouse, campaign_id: str) -> dict[str, object]:
    table = wh.read(
        "SELECT name, first_seen_day, last_seen_day, updated_at FROM campaigns "
        "WHERE customer_id = 'cust-1' AND campaign_id = $id",
        {"id": campaign_id},
    )
    rows: list[dict[str, object]] = table.to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_dimensions_keep_the_latest_name_and_widen_first_and_last_seen(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    march = factory.rows(date(2024, 3, 10), date(2024, 3, 12), campaigns=1, name=" v1")
    february = factory.rows(date(2024, 2, 1), date(2024, 2, 2), campaigns=1, name=" v2")
    later = FETCHED + timedelta(days=1)
    warehouse.load_slice(
        "cust-1",
        date(2024, 3, 10),
        date(2024, 3, 12),
        factory.table("cust-1", march),
        run_id="r1",
        fetched_at=FETCHED,
    )

    warehouse.load_slice(
        "cust-1",
        date(2024, 2, 1),
        date(2024, 2, 2),
        factory.table("cust-1", february),
        run_id="r2",
        fetched_at=later,
    )

    assert _campaign(warehouse, "camp-0") == {
        "name": "Campaign camp-0 v2",
        "first_seen_day": date(2024, 2, 1),
        "last_seen_day": date(2024, 3, 12),
        "updated_at": later,
    }
    groups = warehouse.read("SELECT name, first_seen_day, last_seen_day FROM ad_groups ORDER BY 1")
    assert groups.to_pylist() == [
        {
            "name": f"Group ad-0-{a} v2",
            "first_seen_day": date(2024, 2, 1),
            "last_seen_day": date(2024, 3, 12),
        }
        for a in range(2)
    ]
    ads = warehouse.read("SELECT ad_id, offer_id, name FROM ads ORDER BY ad_id")
    assert ads.to_pylist() == [
        {"ad_id": f"ad-0-{a}", "offer_id": f"offer-ad-0-{a}", "name": f"Ad ad-0-{a} v2"}
        for a in range(2)
    ]


def test_an_older_fetch_does_not_overwrite_a_newer_name(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    newer = factory.table("cust-1", [factory.row(day=DAY, name=" new")])
    older = factory.table("cust-1", [factory.row(day=DAY, name=" old")])
    warehouse.load_slice("cust-1", DAY, DAY, newer, run_id="r1", fetched_at=FETCHED)

    earlier = FETCHED - timedelta(hours=1)
    warehouse.load_slice("cust-1", DAY, DAY, older, run_id="r0", fetched_at=earlier)

    assert _campaign(warehouse, "camp-1")["name"] == "Campaign camp-1 new"


def test_views_compute_ctr_cpc_roas_null_safe(warehouse: Warehouse, factory: StatFactory) -> None:
    rows = [
        factory.row(
            campaign_id="normal",
            ad_id="a1",
            views=1000,
            clicks=25,
            cost="12.50",
            attributed_value="100.00",
        ),
        factory.row(
            campaign_id="no-views",
            ad_id="a2",
            views=0,
            clicks=0,
            cost="0.00",
            attributed_value="0.00",
        ),
        factory.row(
            campaign_id="free-clicks",
            ad_id="a3",
            views=10,
            clicks=3,
            cost="0.00",
            attributed_value="5.00",
        ),
    ]
    warehouse.load_slice(
        "cust-1", DAY, DAY, factory.table("cust-1", rows), run_id="r", fetched_at=FETCHED
    )

    ratios = warehouse.read(
        "SELECT campaign_id, ctr, cpc, roas FROM campaign_daily_stats ORDER BY campaign_id"
    )

    assert ratios.to_pylist() == [
        {
            "campaign_id": "free-clicks",
            "ctr": Decimal("0.3000"),
            "cpc": Decimal("0.00"),
            "roas": None,
        },
        {"campaign_id": "no-views", "ctr": None, "cpc": None, "roas": None},
        {
            "campaign_id": "normal",
            "ctr": Decimal("0.0250"),
            "cpc": Decimal("0.50"),
            "roas": Decimal("8.00"),
        },
    ]


def test_view_ratios_are_exact_decimals_rounded_half_up(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    # Exact halves, which floating-point division would round either way.
    rows = [
        factory.row(campaign_id="ctr", views=20000, clicks=3, cost="0.30"),  # 0.00015
        factory.row(campaign_id="cpc", ad_id="ad-2", views=100, clicks=2, cost="0.03"),  # 0.015
        factory.row(campaign_id="roas", ad_id="ad-3", cost="2.00", attributed_value="0.01"),
    ]
    warehouse.load_slice(
        "cust-1", DAY, DAY, factory.table("cust-1", rows), run_id="r", fetched_at=FETCHED
    )

    view = warehouse.read(
        "SELECT campaign_id, ctr, cpc, roas FROM campaign_daily_stats ORDER BY campaign_id"
    )

    ratios = {r["campaign_id"]: (r["ctr"], r["cpc"], r["roas"]) for r in view.to_pylist()}
    assert ratios == {
        "ctr": (Decimal("0.0002"), Decimal("0.10"), Decimal("333.33")),
        "cpc": (Decimal("0.0200"), Decimal("0.02"), Decimal("3333.33")),
        "roas": (Decimal("0.0250"), Decimal("0.08"), Decimal("0.01")),
    }


def test_campaign_daily_stats_sums_a_campaigns_ads_per_day_with_its_name(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    rows = [
        factory.row(ad_id="a1", views=100, clicks=10, cost="1.10", attributed_value="2.00"),
        factory.row(ad_id="a2", views=300, clicks=30, cost="2.20", attributed_value="3.00"),
        factory.row(ad_id="a3", day=DAY + timedelta(days=1), views=7, clicks=1, cost="0.70"),
    ]
    warehouse.load_slice(
        "cust-1",
        DAY,
        DAY + timedelta(days=1),
        factory.table("cust-1", rows),
        run_id="r",
        fetched_at=FETCHED,
    )

    view = warehouse.read(
        "SELECT campaign_name, day, currency, views, clicks, interest, cost, attributed_count, "
        "attributed_value FROM campaign_daily_stats ORDER BY day"
    )

    assert view.to_pylist() == [
        {
            "campaign_name": "Campaign camp-1",
            "day": DAY,
            "currency": "PLN",
            "views": 400,
            "clicks": 40,
            "interest": 20,
            "cost": Decimal("3.30"),
            "attributed_count": 4,
            "attributed_value": Decimal("5.00"),
        },
        {
            "campaign_name": "Campaign camp-1",
            "day": DAY + timedelta(days=1),
            "currency": "PLN",
            "views": 7,
            "clicks": 1,
            "interest": 0,
            "cost": Decimal("0.70"),
            "attributed_count": 2,
            "attributed_value": Decimal("100.00"),
        },
    ]
