"""Statistics fetches: windowing, date rules checked before any call, exact decimals."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from allegro_resource.ads_client import STATISTICS_PATH, AllegroAdsClient
from allegro_resource.errors import DateRangeError
from allegro_resource.models import AdType, StatRow
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import Seller, sim_today, stat_calls


def _yesterday(sim: RunningSimulator) -> date:
    return sim_today(sim) - timedelta(days=1)


def _statistics_calls(log: MemoryCallLog) -> list[Any]:
    return [c for c in log.snapshot() if c.endpoint.endswith("/statistics")]


def test_a_365_day_fetch_makes_one_call_per_31_day_window(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller, call_log: MemoryCallLog
) -> None:
    end = _yesterday(simulator)
    start = end - timedelta(days=364)
    before = stat_calls(simulator)

    rows = client.fetch_statistics(seller.customer_id, seller.ads_client_id, start, end)

    assert len(_statistics_calls(call_log)) == math.ceil(365 / 31) == 12
    assert stat_calls(simulator) - before == 12
    assert {r.day for r in rows} <= {start + timedelta(days=i) for i in range(365)}
    assert min(r.day for r in rows) >= start and max(r.day for r in rows) <= end


def test_the_statistics_path_is_one_constant() -> None:
    assert STATISTICS_PATH.format(client_id="c1") == "/ads/clients/c1/statistics"


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "message"),
    [
        (-3, 0, "yesterday"),  # ends today
        (-731, -700, "days back"),  # starts before the two-year floor
        (-2, -5, "swap"),  # gte after lte
    ],
    ids=["today", "older-than-two-years", "start-after-end"],
)
def test_an_unserved_range_is_refused_before_any_call(
    simulator: RunningSimulator,
    client: AllegroAdsClient,
    seller: Seller,
    call_log: MemoryCallLog,
    start_offset: int,
    end_offset: int,
    message: str,
) -> None:
    today = sim_today(simulator)
    before = stat_calls(simulator)
    start, end = today + timedelta(days=start_offset), today + timedelta(days=end_offset)

    with pytest.raises(DateRangeError, match=message):
        client.fetch_statistics(seller.customer_id, seller.ads_client_id, start, end)

    assert _statistics_calls(call_log) == []
    assert stat_calls(simulator) == before


def test_every_decimal_equals_the_simulators_truth_over_60_days(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    end = _yesterday(simulator)
    start = end - timedelta(days=59)

    rows = client.fetch_statistics(seller.customer_id, seller.ads_client_id, start, end)

    truth = _truth_rows(simulator.truth(seller.ads_client_id, start, end))
    assert rows, "the seller should have statistics in the last 60 days"
    assert _keyed(rows) == truth


def test_types_filter_asks_only_for_the_named_ad_type(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    end = _yesterday(simulator)
    rows = client.fetch_statistics(
        seller.customer_id,
        seller.ads_client_id,
        end - timedelta(days=29),
        end,
        types=[AdType.SPONSORED_OFFER],
    )
    assert rows
    assert {r.ad_type for r in rows} == {AdType.SPONSORED_OFFER}


def test_an_unexpected_extra_field_is_tolerated(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    end = _yesterday(simulator)
    start = end - timedelta(days=9)
    expected = client.fetch_statistics(seller.customer_id, seller.ads_client_id, start, end)
    simulator.faults(extra_field=True)

    rows = client.fetch_statistics(seller.customer_id, seller.ads_client_id, start, end)

    assert rows == expected


Key = tuple[str, str, date]
Metrics = tuple[int, int, int, Decimal, Decimal, int, Decimal, Decimal, Decimal]


def _keyed(rows: list[StatRow]) -> dict[Key, Metrics]:
    return {
        (r.ad_type.value, r.ad_id, r.day): (
            r.views,
            r.clicks,
            r.interest,
            r.cost,
            r.ctr,
            r.attributed_count,
            r.attributed_value,
            r.effective_cpc,
            r.rate_of_return,
        )
        for r in rows
    }


def _truth_rows(truth: dict[str, Any]) -> dict[Key, Metrics]:
    """The simulator's truth document keyed like ``_keyed``, read straight from its JSON."""
    keyed: dict[Key, Metrics] = {}
    for section, ad_type in (("sponsoredOffers", "SPONSORED_OFFER"), ("graphicAds", "GRAPHIC_AD")):
        for ad in truth.get(section, []):
            for day in ad["dayData"]:
                m = day["data"]
                keyed[(ad_type, ad["ad"]["id"], date.fromisoformat(day["day"]))] = (
                    m["views"],
                    m["clicks"],
                    m["interest"],
                    Decimal(m["totalCost"]),
                    Decimal(m["ctr"]),
                    m["totalAttributionCount"],
                    Decimal(m["totalAttributionValue"]),
                    Decimal(m["effectiveCpc"]),
                    Decimal(m["rateOfReturn"]),
                )
    return keyed
