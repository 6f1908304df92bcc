"""The agency endpoints follow allegro-api.md: the client list and each client's statistics
are served to the agency account that has the client, with every rule of the statistics
query (2-year floor, yesterday ceiling, longest range, ``types`` in both forms) and both ad
types' metrics as the page lists them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import requests

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import (
    CLIENTS_PATH,
    Account,
    api_get,
    assert_day_data,
    assert_error_shape,
    assert_forbidden,
    client_of,
    last_days,
    login_with_graphic_ads,
    sim_today,
    stats_params,
    stats_path,
)

Factory = Callable[..., RunningSimulator]
Consented = Callable[[RunningSimulator, str], Account]


def _stats(sim: RunningSimulator, token: str, client_id: str, params: Any) -> requests.Response:
    return api_get(sim.base_url, stats_path(client_id), token, params)


# --- the client list ---------------------------------------------------------------------------


def test_the_client_list_has_id_and_name_of_every_client(
    simulator: RunningSimulator, agency: Account
) -> None:
    answer = api_get(simulator.base_url, CLIENTS_PATH, agency.token).json()
    assert set(answer) == {"clients"}  # no paging documented: no count, no totalCount
    assert answer["clients"] == [
        {"id": u["ads_client_id"], "name": u["name"]} for u in simulator.users()
    ]
    assert all(uuid.UUID(c["id"]) for c in answer["clients"])


def test_the_client_list_ignores_limit_and_offset_by_default(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(users=30)
    agency = consented(sim, "agency")
    answer = api_get(sim.base_url, CLIENTS_PATH, agency.token, {"limit": 5, "offset": 10})
    assert len(answer.json()["clients"]) == 30


def test_the_client_list_pages_when_configured(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(users=25, clients_paging=True)
    agency = consented(sim, "agency")
    first = api_get(sim.base_url, CLIENTS_PATH, agency.token).json()
    assert (first["count"], first["totalCount"], len(first["clients"])) == (20, 25, 20)
    rest = api_get(sim.base_url, CLIENTS_PATH, agency.token, {"offset": 20}).json()
    seen = [c["id"] for c in first["clients"] + rest["clients"]]
    assert seen == [u["ads_client_id"] for u in sim.users()]
    bad = api_get(sim.base_url, CLIENTS_PATH, agency.token, {"limit": 1001})
    assert_error_shape(bad, 422, "limit")


def test_a_seller_token_cannot_list_clients(simulator: RunningSimulator, seller: Account) -> None:
    assert_forbidden(api_get(simulator.base_url, CLIENTS_PATH, seller.token))


def test_two_agencies_each_list_only_their_own_clients(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(users=6, agencies=2)
    assert [a["login"] for a in sim.agencies()] == ["agency", "agency2"]
    for login in ("agency", "agency2"):
        token = consented(sim, login).token
        listed = [c["id"] for c in api_get(sim.base_url, CLIENTS_PATH, token).json()["clients"]]
        owned = [u["ads_client_id"] for u in sim.users() if u["agency_login"] == login]
        assert listed == owned and len(owned) == 3


# --- statistics: who may read them -------------------------------------------------------


def test_the_agency_reads_its_clients_statistics(
    simulator: RunningSimulator, agency: Account
) -> None:
    for user in simulator.users()[:3]:
        params = stats_params(*last_days(simulator, 2))
        answer = api_get(
            simulator.base_url, stats_path(user["ads_client_id"]), agency.token, params
        )
        assert answer.status_code == 200


def test_a_seller_token_gets_403_even_for_its_own_client(
    simulator: RunningSimulator, seller: Account
) -> None:
    params = stats_params(*last_days(simulator, 3))
    assert_forbidden(
        api_get(simulator.base_url, stats_path(seller.ads_client_id), seller.token, params)
    )


def test_another_agencys_client_is_403(simulator_factory: Factory, consented: Consented) -> None:
    sim = simulator_factory(users=4, agencies=2)
    agency2 = consented(sim, "agency2")
    params = stats_params(*last_days(sim, 3))
    theirs = client_of(sim, "seller01")  # seller01 is agency's, not agency2's
    assert_forbidden(api_get(sim.base_url, stats_path(theirs), agency2.token, params))
    ours = client_of(sim, "seller02")
    assert api_get(sim.base_url, stats_path(ours), agency2.token, params).status_code == 200


def test_an_unknown_client_is_403(simulator: RunningSimulator, agency: Account) -> None:
    params = stats_params(*last_days(simulator, 3))
    path = stats_path("00000000-0000-4000-8000-000000000000")
    assert_forbidden(api_get(simulator.base_url, path, agency.token, params))


# --- statistics: the date rules --------------------------------------------------------------


def test_statistics_up_to_yesterday_are_served(
    simulator: RunningSimulator, agency: Account
) -> None:
    start, yesterday = last_days(simulator, 7)
    path = stats_path(client_of(simulator, "seller01"))
    answer = api_get(simulator.base_url, path, agency.token, stats_params(start, yesterday))
    days = {d["day"] for ad in answer.json()["sponsoredOffers"] for d in ad["dayData"]}
    assert max(days) == yesterday.isoformat() and min(days) == start.isoformat()


def test_today_is_refused_with_422(simulator: RunningSimulator, agency: Account) -> None:
    today = sim_today(simulator)
    path = stats_path(client_of(simulator, "seller01"))
    answer = api_get(
        simulator.base_url, path, agency.token, stats_params(today - timedelta(days=2), today)
    )
    assert_error_shape(answer, 422, "statistics.lte")


def test_older_than_two_years_is_422(simulator: RunningSimulator, agency: Account) -> None:
    floor = sim_today(simulator) - timedelta(days=730)
    path = stats_path(client_of(simulator, "seller01"))
    too_old = stats_params(floor - timedelta(days=1), floor + timedelta(days=5))
    assert_error_shape(
        api_get(simulator.base_url, path, agency.token, too_old), 422, "statistics.gte"
    )
    oldest = stats_params(floor, floor + timedelta(days=5))
    assert api_get(simulator.base_url, path, agency.token, oldest).status_code == 200


def test_a_range_longer_than_31_days_is_422(simulator: RunningSimulator, agency: Account) -> None:
    start, end = last_days(simulator, 32)
    path = stats_path(client_of(simulator, "seller01"))
    longest = api_get(simulator.base_url, path, agency.token, stats_params(start, end))
    assert_error_shape(longest, 422, "statistics.lte")
    widest = stats_params(start + timedelta(days=1), end)  # 31 days, both ends included
    assert api_get(simulator.base_url, path, agency.token, widest).status_code == 200


def test_the_longest_range_is_a_setting(simulator_factory: Factory, consented: Consented) -> None:
    sim = simulator_factory(max_range_days=7)
    agency = consented(sim, "agency")
    answer = _stats(sim, agency.token, client_of(sim, "seller01"), stats_params(*last_days(sim, 8)))
    assert_error_shape(answer, 422, "statistics.lte")


def test_start_after_end_is_422(simulator: RunningSimulator, agency: Account) -> None:
    start, end = last_days(simulator, 5)
    path = stats_path(client_of(simulator, "seller01"))
    answer = api_get(simulator.base_url, path, agency.token, stats_params(end, start))
    assert_error_shape(answer, 422, "statistics.gte")


def test_missing_or_invalid_dates_are_422(simulator: RunningSimulator, agency: Account) -> None:
    start, end = last_days(simulator, 5)
    path = stats_path(client_of(simulator, "seller01"))
    cases = [
        ({"statistics.lte": end.isoformat()}, "statistics.gte"),
        ({"statistics.gte": start.isoformat()}, "statistics.lte"),
        ({"statistics.gte": "2026-02-30", "statistics.lte": end.isoformat()}, "statistics.gte"),
        ({"statistics.gte": start.isoformat(), "statistics.lte": "yesterday"}, "statistics.lte"),
        (
            {"statistics.gte": start.strftime("%d.%m.%Y"), "statistics.lte": end.isoformat()},
            "statistics.gte",
        ),
    ]
    for params, name in cases:
        assert_error_shape(api_get(simulator.base_url, path, agency.token, params), 422, name)


# --- statistics: types --------------------------------------------------------------------------


def test_an_unknown_type_is_422(simulator: RunningSimulator, agency: Account) -> None:
    params = stats_params(*last_days(simulator, 3), "SPONSORED_OFFER", "VIDEO_AD")
    path = stats_path(client_of(simulator, "seller01"))
    assert_error_shape(api_get(simulator.base_url, path, agency.token, params), 422, "types")


def test_types_filter_the_answer(simulator: RunningSimulator, agency: Account) -> None:
    path = stats_path(client_of(simulator, login_with_graphic_ads(simulator)))
    span = last_days(simulator, 5)
    both = api_get(simulator.base_url, path, agency.token, stats_params(*span)).json()
    assert both["sponsoredOffers"] and both["graphicAds"]
    only = api_get(simulator.base_url, path, agency.token, stats_params(*span, "GRAPHIC_AD"))
    assert only.json() == {"sponsoredOffers": [], "graphicAds": both["graphicAds"]}


def test_types_may_be_repeated_or_comma_joined(
    simulator: RunningSimulator, agency: Account
) -> None:
    path = stats_path(client_of(simulator, login_with_graphic_ads(simulator)))
    span = stats_params(*last_days(simulator, 3))
    repeated = api_get(
        simulator.base_url, path, agency.token, {**span, "types": ["SPONSORED_OFFER", "GRAPHIC_AD"]}
    )
    joined = api_get(
        simulator.base_url, path, agency.token, {**span, "types": "SPONSORED_OFFER,GRAPHIC_AD"}
    )
    neither = api_get(simulator.base_url, path, agency.token, span)
    assert repeated.status_code == joined.status_code == 200
    assert repeated.content == joined.content == neither.content


# --- statistics: the answer's shape -----------------------------------------------------------


def test_sponsored_offers_carry_their_metrics_as_ints_and_decimal_strings(
    simulator: RunningSimulator, agency: Account
) -> None:
    path = stats_path(client_of(simulator, "seller01"))
    answer = api_get(simulator.base_url, path, agency.token, stats_params(*last_days(simulator, 5)))
    ads = answer.json()["sponsoredOffers"]
    assert ads
    for ad in ads:
        assert set(ad) == {"campaign", "adGroup", "ad", "dayData"}
        assert set(ad["ad"]) == {"id", "name", "offerId"} and ad["ad"]["offerId"]
        assert set(ad["campaign"]) == set(ad["adGroup"]) == {"id", "name"}
        for day in ad["dayData"]:
            assert set(day) == {"day", "data"}
            assert_day_data(day["data"], graphic=False)


def test_graphic_ads_carry_cpm_reach_and_core_value_and_no_cpc(
    simulator: RunningSimulator, agency: Account
) -> None:
    path = stats_path(client_of(simulator, login_with_graphic_ads(simulator)))
    params = stats_params(*last_days(simulator, 10), "GRAPHIC_AD")
    ads = api_get(simulator.base_url, path, agency.token, params).json()["graphicAds"]
    assert ads
    for ad in ads:
        assert set(ad["ad"]) == {"id", "name"}  # no offerId: a banner promotes no one offer
        for day in ad["dayData"]:
            data = day["data"]
            assert_day_data(data, graphic=True)
            assert data["clicks"] <= data["uniqueReach"] <= data["views"]
            core, total = (
                Decimal(data["attributedToCoreValue"]),
                Decimal(data["totalAttributionValue"]),
            )
            assert core <= total


def test_money_has_two_decimals_and_ctr_four(simulator: RunningSimulator, agency: Account) -> None:
    path = stats_path(client_of(simulator, login_with_graphic_ads(simulator)))
    document = api_get(
        simulator.base_url, path, agency.token, stats_params(*last_days(simulator, 3))
    ).json()
    for ad in document["sponsoredOffers"] + document["graphicAds"]:
        for day in ad["dayData"]:
            for name, value in day["data"].items():
                if isinstance(value, str):
                    assert len(value.split(".")[1]) == (4 if name == "ctr" else 2), (name, value)


def test_unique_reach_is_per_day_and_not_additive(
    simulator: RunningSimulator, agency: Account
) -> None:
    path = stats_path(client_of(simulator, login_with_graphic_ads(simulator)))
    params = stats_params(*last_days(simulator, 7), "GRAPHIC_AD")
    ad = api_get(simulator.base_url, path, agency.token, params).json()["graphicAds"][0]
    days = [d["day"] for d in ad["dayData"]]
    assert len(days) == len(set(days)) == 7  # one reach figure per day, never a total
