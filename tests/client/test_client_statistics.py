"""Statistics with the agency account's token: windowing, date rules checked before any call,
both ad types with every metric equal to the simulator's truth, ``types`` in both styles."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from allegro_resource.ads_client import STATISTICS_PATH, AllegroAdsClient
from allegro_resource.errors import DateRangeError
from allegro_resource.models import AdType, StatRow
from allegro_resource.static_tokens import StaticTokenProvider
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import AGENCY, ClientFactory, Seller, sim_today, stat_calls


def _yesterday(sim: RunningSimulator) -> date:
    return sim_today(sim) - timedelta(days=1)


def _statistics_calls(log: MemoryCallLog) -> list[Any]:
    return [c for c in log.snapshot() if c.endpoint.endswith("/statistics")]


def test_the_statistics_path_is_the_public_agency_endpoint() -> None:
    assert STATISTICS_PATH.format(client_id="c1") == "/advertising-agencies/clients/c1/statistics"


def test_a_365_day_fetch_makes_one_call_per_31_day_window(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller, call_log: MemoryCallLog
) -> None:
    end = _yesterday(simulator)
    start = end - timedelta(days=364)
    before = stat_calls(simulator)

    rows = client.fetch_statistics(seller.job, start, end)

    assert len(_statistics_calls(call_log)) == math.ceil(365 / 31) == 12
    assert stat_calls(simulator) - before == 12
    assert min(r.day for r in rows) >= start and max(r.day for r in rows) <= end


def test_statistics_calls_are_logged_for_the_customer_with_their_trace_id(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller, call_log: MemoryCallLog
) -> None:
    end = _yesterday(simulator)

    client.fetch_statistics(seller.job, end, end)

    (call,) = _statistics_calls(call_log)
    assert call.customer_id == seller.customer_id  # whose rows, though the agency token was used
    assert call.status == 200 and call.trace_id and call.rows


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
        client.fetch_statistics(seller.job, start, end)

    assert _statistics_calls(call_log) == []
    assert stat_calls(simulator) == before


def test_every_row_of_both_ad_types_equals_the_simulators_truth_over_90_days(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    end = _yesterday(simulator)
    start = end - timedelta(days=89)

    rows = client.fetch_statistics(seller.job, start, end)

    truth = _truth_rows(simulator.truth(seller.ads_client_id, start, end))
    assert {key[0] for key in truth} == {"SPONSORED_OFFER", "GRAPHIC_AD"}
    assert len(rows) == len(truth)  # no row twice, none missing
    assert _keyed(rows) == truth


def test_graphic_ads_carry_reach_cpm_and_core_value_and_sponsored_offers_cpc(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    end = _yesterday(simulator)

    rows = client.fetch_statistics(seller.job, end - timedelta(days=29), end)

    graphic = [r for r in rows if r.ad_type is AdType.GRAPHIC_AD]
    sponsored = [r for r in rows if r.ad_type is AdType.SPONSORED_OFFER]
    assert graphic and sponsored
    assert all(r.effective_cpc is None and r.offer_id is None for r in graphic)
    assert all(isinstance(r.unique_reach, int) for r in graphic)
    assert all(isinstance(r.effective_cpm, Decimal) for r in graphic)
    assert all(isinstance(r.attributed_to_core_value, Decimal) for r in graphic)
    assert all(isinstance(r.effective_cpc, Decimal) for r in sponsored)
    assert all(
        (r.unique_reach, r.effective_cpm, r.attributed_to_core_value) == (None, None, None)
        for r in sponsored
    )


@pytest.mark.parametrize("style", ["repeated", "comma"])
def test_types_narrow_the_answer_in_either_style(
    simulator: RunningSimulator,
    provider: StaticTokenProvider,
    make_client: ClientFactory,
    seller: Seller,
    style: str,
) -> None:
    client = make_client(simulator, provider, types_style=style)
    end = _yesterday(simulator)
    start = end - timedelta(days=29)

    graphic = client.fetch_statistics(seller.job, start, end, types=[AdType.GRAPHIC_AD])
    both = client.fetch_statistics(seller.job, start, end)

    assert graphic and {r.ad_type for r in graphic} == {AdType.GRAPHIC_AD}
    assert {r.ad_type for r in both} == {AdType.GRAPHIC_AD, AdType.SPONSORED_OFFER}
    assert [r for r in both if r.ad_type is AdType.GRAPHIC_AD] == graphic


def test_an_unexpected_extra_field_is_tolerated(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    end = _yesterday(simulator)
    start = end - timedelta(days=9)
    expected = client.fetch_statistics(seller.job, start, end)
    simulator.faults(extra_field=True)

    rows = client.fetch_statistics(seller.job, start, end)

    assert rows == expected


def test_the_agency_token_reads_every_client_of_its_list(
    simulator: RunningSimulator, client: AllegroAdsClient
) -> None:
    day = _yesterday(simulator)
    clients = client.list_agency_clients(AGENCY)

    results = client.fetch_statistics_many(
        [Seller(f"s{i}", c.id).job for i, c in enumerate(clients)], day, day
    )

    assert len(results) == len(clients) == 10
    assert all(r.ok for r in results)


Key = tuple[str, str, date]


def _keyed(rows: list[StatRow]) -> dict[Key, tuple[Any, ...]]:
    return {
        (r.ad_type.value, r.ad_id, r.day): (
            r.campaign_id,
            r.campaign_name,
            r.ad_group_id,
            r.ad_group_name,
            r.ad_name,
            r.offer_id,
            r.views,
            r.clicks,
            r.interest,
            r.cost,
            r.ctr,
            r.attributed_count,
            r.attributed_value,
            r.effective_cpc,
            r.rate_of_return,
            r.unique_reach,
            r.effective_cpm,
            r.attributed_to_core_value,
        )
        for r in rows
    }


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _truth_rows(truth: dict[str, Any]) -> dict[Key, tuple[Any, ...]]:
    """The simulator's truth document keyed like ``_keyed``, read straight from its JSON (not
    through the client's parser)."""
    keyed: dict[Key, tuple[Any, ...]] = {}
    for section, ad_type in (("sponsoredOffers", "SPONSORED_OFFER"), ("graphicAds", "GRAPHIC_AD")):
        for ad in truth.get(section, []):
            for day in ad["dayData"]:
                m = day["data"]
                keyed[(ad_type, ad["ad"]["id"], date.fromisoformat(day["day"]))] = (
                    ad["campaign"]["id"],
                    ad["campaign"]["name"],
                    ad["adGroup"]["id"],
                    ad["adGroup"]["name"],
                    ad["ad"]["name"],
                    ad["ad"].get("offerId"),
                    m["views"],
                    m["clicks"],
                    m["interest"],
                    Decimal(m["totalCost"]),
                    Decimal(m["ctr"]),
                    m["totalAttributionCount"],
                    Decimal(m["totalAttributionValue"]),
                    _decimal(m.get("effectiveCpc")),
                    Decimal(m["rateOfReturn"]),
                    m.get("uniqueReach"),
                    _decimal(m.get("effectiveCpm")),
                    _decimal(m.get("attributedToCoreValue")),
                )
    return keyed
