"""Graphic ads: every metric Allegro sends is stored exactly, reach is shown per day and never
added up, the ratios of either ad type are derived null-safely."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from allegro_resource.models import AdType
from simulator.data import generate_table
from simulator.entities import make_users
from testing.stat_tables import stat_rows_to_table, table_rows
from tests.warehouse.conftest import CURRENCY, FETCHED_AT, RUN_ID
from warehouse import stats_queries
from warehouse.stats_frames import stats_table_to_facts
from warehouse.stats_loader import Warehouse
from warehouse.stats_schema import VIEWS

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)
# The client's column -> the warehouse's, where they differ.
_RENAMED = {"ctr": "api_ctr", "effective_cpc": "api_cpc", "rate_of_return": "api_roas"}


def _load(wh: Warehouse, customer_id: str, start: date, end: date, stats: pa.Table) -> None:
    facts = stats_table_to_facts(
        customer_id, stats, currency=CURRENCY, run_id=RUN_ID, fetched_at=FETCHED_AT
    )
    wh.load_slice(customer_id, start, end, facts, run_id=RUN_ID, fetched_at=FETCHED_AT)


def _graphic_stats(
    factory: StatFactory,
    days_and_metrics: list[tuple[date, int, Decimal, Decimal]],
    *,
    ad_id: str = "banner-1",
    campaign_id: str = "camp-g",
) -> pa.Table:
    """A client table of one graphic ad: (day, unique reach, effective CPM, core value) each day;
    no effective CPC, as Allegro sends graphic ads."""
    rows = [
        factory.row(day=day, ad_id=ad_id, campaign_id=campaign_id, ad_type=AdType.GRAPHIC_AD)
        for day, *_ in days_and_metrics
    ]
    table = stat_rows_to_table(rows)
    replaced = {
        "effective_cpc": pa.nulls(len(rows), table.schema.field("effective_cpc").type),
        "unique_reach": pa.array([m[1] for m in days_and_metrics], pa.int64()),
        "effective_cpm": pa.array([m[2] for m in days_and_metrics], pa.decimal128(18, 2)),
        "attributed_to_core_value": pa.array(
            [m[3] for m in days_and_metrics], pa.decimal128(18, 2)
        ),
    }
    for name, values in replaced.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(index, pa.field(name, values.type), values)
    return table


def test_the_simulators_rows_of_both_ad_types_round_trip_exactly(warehouse: Warehouse) -> None:
    sellers, _agency = make_users(42, 1)
    generated = generate_table([str(sellers[0].ads_client_id)], D1, D3, date(2024, 3, 10))
    assert set(generated["ad_type"].to_pylist()) == {"SPONSORED_OFFER", "GRAPHIC_AD"}

    _load(warehouse, "cust-1", D1, D3, generated)

    stored = table_rows(warehouse, "cust-1", D1, D3)
    key = [("day", "ascending"), ("ad_type", "ascending"), ("ad_id", "ascending")]
    expected = generated.sort_by(key)
    assert stored.num_rows == expected.num_rows
    for name in expected.column_names:
        if name in ("campaign_name", "ad_group_name", "ad_name"):
            continue  # names go to the dimension tables
        column = _RENAMED.get(name, name)
        assert stored[column].to_pylist() == expected[name].to_pylist(), column
    graphic = pc.equal(stored["ad_type"], "GRAPHIC_AD")
    assert stored.filter(graphic)["api_cpc"].null_count == pc.sum(graphic).as_py()
    assert (
        stored.filter(pc.invert(graphic))["unique_reach"].null_count
        == pc.sum(pc.invert(graphic)).as_py()
    )


def test_graphic_ad_metrics_keep_every_digit(warehouse: Warehouse, factory: StatFactory) -> None:
    metrics = [
        (D1, 2**40, Decimal("9999999999999999.99"), Decimal("0.01")),
        (D2, 0, Decimal("0.00"), Decimal("1234567.89")),
    ]
    _load(warehouse, "cust-1", D1, D2, _graphic_stats(factory, metrics))

    stored = table_rows(warehouse, "cust-1", D1, D2).to_pylist()

    assert [
        (r["day"], r["unique_reach"], r["effective_cpm"], r["attributed_to_core_value"])
        for r in stored
    ] == metrics
    assert [r["api_cpc"] for r in stored] == [None, None]


def test_reach_is_shown_per_day_and_its_period_figure_is_the_daily_maximum(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    reach = {D1: 100, D2: 250, D3: 175}
    metrics = [(day, value, Decimal("5.00"), Decimal("1.00")) for day, value in reach.items()]
    _load(warehouse, "cust-1", D1, D3, _graphic_stats(factory, metrics))

    daily = warehouse.read(
        "SELECT day, unique_reach FROM graphic_ad_daily_stats WHERE customer_id = 'cust-1' "
        "ORDER BY day"
    ).to_pylist()
    report = stats_queries.graphic_ad_report(warehouse, ["cust-1"], D1, D3).to_pylist()

    assert {r["day"]: r["unique_reach"] for r in daily} == reach
    assert [(r["ad_id"], r["days"], r["max_daily_unique_reach"]) for r in report] == [
        ("banner-1", 3, 250)
    ]


def test_no_view_adds_reach_across_ads_or_days(warehouse: Warehouse) -> None:
    columns = {
        view: warehouse.read(f"SELECT * FROM {view} WHERE 1 = 0").column_names  # noqa: S608
        for view in VIEWS
    }

    reach_columns = {view: [c for c in names if "reach" in c] for view, names in columns.items()}
    assert reach_columns == {
        "campaign_daily_stats": [],
        "customer_daily_stats": [],
        "graphic_ad_daily_stats": ["unique_reach"],
    }


def test_campaign_views_sum_core_value_of_graphic_ads_only_and_derive_cpm(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    metrics = [(D1, 10, Decimal("12.50"), Decimal("3.10"))]
    graphic = _graphic_stats(factory, metrics)
    graphic_2 = _graphic_stats(factory, [(D1, 20, Decimal("1.00"), Decimal("0.25"))], ad_id="b-2")
    sponsored = stat_rows_to_table([factory.row(day=D1, campaign_id="camp-s", views=0)])
    _load(
        warehouse,
        "cust-1",
        D1,
        D1,
        pa.concat_tables([graphic, graphic_2, sponsored], promote_options="default"),
    )

    rows = {
        r["campaign_id"]: r
        for r in warehouse.read(
            "SELECT campaign_id, attributed_to_core_value, cost, views, cpm, ctr "
            "FROM campaign_daily_stats"
        ).to_pylist()
    }

    assert rows["camp-g"]["attributed_to_core_value"] == Decimal("3.35")
    assert rows["camp-s"]["attributed_to_core_value"] is None
    # cost 25.00 over 2000 views -> 12.50 per thousand; no views -> no CPM, no CTR.
    assert (rows["camp-g"]["cost"], rows["camp-g"]["views"]) == (Decimal("25.00"), 2000)
    assert rows["camp-g"]["cpm"] == Decimal("12.50")
    assert (rows["camp-s"]["cpm"], rows["camp-s"]["ctr"]) == (None, None)


def test_ratio_checks_skip_what_an_ad_type_lacks_and_flag_a_wrong_cpm(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    right = _graphic_stats(factory, [(D1, 5, Decimal("12.50"), Decimal("0"))], ad_id="right")
    wrong = _graphic_stats(factory, [(D1, 5, Decimal("13.50"), Decimal("0"))], ad_id="wrong")
    sponsored = stat_rows_to_table([factory.row(day=D1, ad_id="offer-ad")])
    _load(
        warehouse,
        "cust-1",
        D1,
        D1,
        pa.concat_tables([right, wrong, sponsored], promote_options="default"),
    )

    mismatches = stats_queries.ratio_mismatches(warehouse, D1, D1)

    assert mismatches[["ad_id", "cpm", "effective_cpm"]].to_dict("records") == [
        {"ad_id": "wrong", "cpm": Decimal("12.50"), "effective_cpm": Decimal("13.50")}
    ]
