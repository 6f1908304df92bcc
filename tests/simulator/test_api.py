"""The simulated REST API follows allegro-api.md: bearer auth, media types, Trace-Id, /me,
ads clients with paging, statistics with every date rule, campaigns, rate limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import requests

from allegro_resource.models import AdsClientsPage, CampaignsPage, Me
from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import (
    BETA,
    PUBLIC,
    TIMEOUT,
    Seller,
    api_get,
    assert_error_shape,
    authorize_url,
    last_days,
    login_with_graphic_ads,
    sim_today,
    statistics_rows,
    stats_params,
    token_request,
)

Factory = Callable[..., RunningSimulator]
Consented = Callable[[RunningSimulator, str], Seller]


# --- auth, media type, trace id -------------------------------------------------


def test_api_refuses_missing_or_unknown_tokens_with_401(simulator: RunningSimulator) -> None:
    for token in (None, "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"):
        answer = api_get(simulator.base_url, "/me", token)
        assert_error_shape(answer, 401)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    basic = requests.get(
        f"{simulator.base_url}/ads/clients",
        headers={"Accept": PUBLIC, "Authorization": "Basic eDp5"},
        timeout=TIMEOUT,
    )
    assert_error_shape(basic, 401)


def test_wrong_or_missing_accept_is_406(simulator: RunningSimulator, seller: Seller) -> None:
    for accept in (None, "application/json", "*/*", "application/vnd.allegro.public.v2+json"):
        assert_error_shape(api_get(simulator.base_url, "/me", seller.token, accept=accept), 406)
    assert_error_shape(api_get(simulator.base_url, "/me", seller.token, accept=BETA), 406)


def test_ads_paths_accept_public_and_beta_media_types(
    simulator: RunningSimulator, seller: Seller
) -> None:
    for accept in (PUBLIC, BETA):
        answer = api_get(simulator.base_url, "/ads/clients", seller.token, accept=accept)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == accept


def test_every_response_carries_a_trace_id(simulator: RunningSimulator, seller: Seller) -> None:
    base = simulator.base_url
    answers = [
        api_get(base, "/me", seller.token),
        api_get(base, "/me", None),
        api_get(base, "/no/such/path", seller.token),
        requests.get(authorize_url(base), timeout=TIMEOUT),
        token_request(base, {"grant_type": "refresh_token", "refresh_token": "x"}),
        requests.get(f"{base}/_sim/users", timeout=TIMEOUT),
    ]
    trace_ids = [a.headers.get("Trace-Id") for a in answers]
    assert all(trace_ids)
    assert len(set(trace_ids)) == len(trace_ids)


def test_unknown_api_path_is_404_in_the_error_shape(
    simulator: RunningSimulator, seller: Seller
) -> None:
    assert_error_shape(api_get(simulator.base_url, "/ads/nothing", seller.token), 404)


def test_sim_endpoints_are_marked(simulator: RunningSimulator) -> None:
    answer = requests.get(f"{simulator.base_url}/_sim/stats", timeout=TIMEOUT)
    assert answer.headers["X-Simulator"] == "true"
    assert "X-Simulator" not in api_get(simulator.base_url, "/me", None).headers


# --- /me and ads clients -----------------------------------------------------------


def test_me_returns_the_user_who_consented(simulator: RunningSimulator, seller: Seller) -> None:
    me = Me.model_validate_json(api_get(simulator.base_url, "/me", seller.token).content)
    user = simulator.users()[0]
    assert (me.id, me.login, me.email) == (user["user_id"], user["login"], user["email"])
    assert me.firstName and me.lastName


def test_a_seller_lists_exactly_its_own_ads_client(
    simulator: RunningSimulator, seller: Seller
) -> None:
    page = AdsClientsPage.model_validate_json(
        api_get(simulator.base_url, "/ads/clients", seller.token).content
    )
    assert [c.id for c in page.clients] == [seller.ads_client_id]
    assert (page.count, page.totalCount) == (1, 1)
    assert page.clients[0].type == "SINGLE_SELLER" and page.clients[0].status == "ACTIVE"


def test_agency_user_pages_through_all_clients(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(users=2500)
    agency = consented(sim, "agency")
    seen: list[str] = []
    for offset in range(0, 3000, 1000):
        answer = api_get(
            sim.base_url, "/ads/clients", agency.token, {"limit": 1000, "offset": offset}
        )
        page = AdsClientsPage.model_validate_json(answer.content)
        assert page.totalCount == 2500
        assert page.count == len(page.clients) == min(1000, 2500 - offset)
        seen += [c.id for c in page.clients]
    assert seen == [u["ads_client_id"] for u in sim.users()]
    assert len(set(seen)) == 2500


def test_clients_default_page_is_20(simulator_factory: Factory, consented: Consented) -> None:
    sim = simulator_factory(users=25)
    agency = consented(sim, "agency")
    first = api_get(sim.base_url, "/ads/clients", agency.token).json()
    assert (first["count"], first["totalCount"]) == (20, 25)
    rest = api_get(sim.base_url, "/ads/clients", agency.token, {"offset": 20}).json()
    assert rest["count"] == 5
    beyond = api_get(sim.base_url, "/ads/clients", agency.token, {"offset": 100}).json()
    assert (beyond["count"], beyond["clients"]) == (0, [])


def test_clients_paging_out_of_range_is_422(simulator: RunningSimulator, seller: Seller) -> None:
    for params, name in (
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
    ):
        answer = api_get(simulator.base_url, "/ads/clients", seller.token, params)
        assert_error_shape(answer, 422, name)


# --- statistics: access and date rules ------------------------------------------------


def test_statistics_of_another_sellers_client_is_403(
    simulator: RunningSimulator, seller: Seller
) -> None:
    other = simulator.users()[1]["ads_client_id"]
    answer = api_get(
        simulator.base_url,
        seller.stats_path(other),
        seller.token,
        stats_params(*last_days(simulator, 3)),
    )
    assert_error_shape(answer, 403)


def test_statistics_of_an_unknown_client_is_404(
    simulator: RunningSimulator, seller: Seller
) -> None:
    path = seller.stats_path("00000000-0000-4000-8000-000000000000")
    answer = api_get(simulator.base_url, path, seller.token, stats_params(*last_days(simulator, 3)))
    assert_error_shape(answer, 404)


def test_agency_reads_every_clients_statistics(
    simulator: RunningSimulator, consented: Consented
) -> None:
    agency = consented(simulator, "agency")
    for user in simulator.users()[:3]:
        answer = api_get(
            simulator.base_url,
            agency.stats_path(user["ads_client_id"]),
            agency.token,
            stats_params(*last_days(simulator, 2)),
        )
        assert answer.status_code == 200


def test_statistics_up_to_yesterday_are_served(simulator: RunningSimulator, seller: Seller) -> None:
    start, yesterday = last_days(simulator, 7)
    answer = api_get(
        simulator.base_url, seller.stats_path(), seller.token, stats_params(start, yesterday)
    )
    assert answer.status_code == 200
    days = {d["day"] for ad in answer.json()["sponsoredOffers"] for d in ad["dayData"]}
    assert max(days) == yesterday.isoformat()


def test_statistics_refuses_today_with_422(simulator: RunningSimulator, seller: Seller) -> None:
    today = sim_today(simulator)
    answer = api_get(
        simulator.base_url,
        seller.stats_path(),
        seller.token,
        stats_params(today - timedelta(days=2), today),
    )
    assert_error_shape(answer, 422, "statistics.lte")


def test_statistics_older_than_two_years_is_422(
    simulator: RunningSimulator, seller: Seller
) -> None:
    floor = sim_today(simulator) - timedelta(days=730)
    path, token = seller.stats_path(), seller.token
    too_old = api_get(
        simulator.base_url,
        path,
        token,
        stats_params(floor - timedelta(days=1), floor + timedelta(days=5)),
    )
    assert_error_shape(too_old, 422, "statistics.gte")
    oldest = api_get(
        simulator.base_url, path, token, stats_params(floor, floor + timedelta(days=5))
    )
    assert oldest.status_code == 200


def test_statistics_range_longer_than_max_is_422(
    simulator: RunningSimulator, seller: Seller
) -> None:
    start, end = last_days(simulator, 32)
    path, token = seller.stats_path(), seller.token
    assert_error_shape(
        api_get(simulator.base_url, path, token, stats_params(start, end)), 422, "statistics.lte"
    )
    widest = api_get(simulator.base_url, path, token, stats_params(start + timedelta(days=1), end))
    assert widest.status_code == 200  # 31 days, both ends included


def test_max_range_is_a_setting(simulator_factory: Factory, consented: Consented) -> None:
    sim = simulator_factory(max_range_days=7)
    seller = consented(sim, "seller01")
    answer = api_get(
        sim.base_url, seller.stats_path(), seller.token, stats_params(*last_days(sim, 8))
    )
    assert_error_shape(answer, 422, "statistics.lte")


def test_statistics_start_after_end_is_422(simulator: RunningSimulator, seller: Seller) -> None:
    start, end = last_days(simulator, 5)
    answer = api_get(
        simulator.base_url, seller.stats_path(), seller.token, stats_params(end, start)
    )
    assert_error_shape(answer, 422, "statistics.gte")


def test_statistics_missing_or_invalid_dates_are_422(
    simulator: RunningSimulator, seller: Seller
) -> None:
    start, end = last_days(simulator, 5)
    path, token = seller.stats_path(), seller.token
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
        assert_error_shape(api_get(simulator.base_url, path, token, params), 422, name)


def test_statistics_unknown_type_is_422(simulator: RunningSimulator, seller: Seller) -> None:
    params = stats_params(*last_days(simulator, 3), "SPONSORED_OFFER", "VIDEO_AD")
    answer = api_get(simulator.base_url, seller.stats_path(), seller.token, params)
    assert_error_shape(answer, 422, "types")


def test_statistics_types_filter_the_answer(
    simulator: RunningSimulator, consented: Consented
) -> None:
    seller = consented(simulator, login_with_graphic_ads(simulator))
    span = last_days(simulator, 5)
    both = api_get(
        simulator.base_url, seller.stats_path(), seller.token, stats_params(*span)
    ).json()
    assert both["sponsoredOffers"] and both["graphicAds"]
    only = api_get(
        simulator.base_url, seller.stats_path(), seller.token, stats_params(*span, "GRAPHIC_AD")
    ).json()
    assert only["sponsoredOffers"] == [] and only["graphicAds"] == both["graphicAds"]


def test_statistics_answer_has_the_documented_shape(
    simulator: RunningSimulator, consented: Consented
) -> None:
    seller = consented(simulator, login_with_graphic_ads(simulator))
    answer = api_get(
        simulator.base_url,
        seller.stats_path(),
        seller.token,
        stats_params(*last_days(simulator, 5)),
    )
    statistics_rows(seller.ads_client_id, answer.content)  # strict: ints and strings
    raw = answer.json()
    assert raw["sponsoredOffers"] and raw["graphicAds"]
    assert all(ad["ad"]["offerId"] for ad in raw["sponsoredOffers"])
    assert all("offerId" not in ad["ad"] for ad in raw["graphicAds"])
    data = raw["sponsoredOffers"][0]["dayData"][0]["data"]
    assert set(data) == {
        "views", "clicks", "interest", "totalCost", "ctr", "totalAttributionCount",
        "totalAttributionValue", "effectiveCpc", "rateOfReturn",
    }  # fmt: skip
    for money in ("totalCost", "totalAttributionValue", "effectiveCpc", "rateOfReturn"):
        assert isinstance(data[money], str) and len(data[money].split(".")[1]) == 2
    assert len(data["ctr"].split(".")[1]) == 4


# --- campaigns, rate limit ----------------------------------------------------------------


def test_campaigns_lists_sponsored_campaigns_with_paging(
    simulator: RunningSimulator, seller: Seller
) -> None:
    path = f"/ads/clients/{seller.ads_client_id}/sponsored/campaigns"
    page = CampaignsPage.model_validate_json(
        api_get(simulator.base_url, path, seller.token).content
    )
    assert page.count == page.totalCount == len(page.campaigns) >= 1
    assert {c.marketplaceId for c in page.campaigns} == {"allegro-pl"}
    assert {c.status for c in page.campaigns} <= {"ACTIVE", "PAUSED", "ARCHIVED"}
    one = api_get(simulator.base_url, path, seller.token, {"limit": 1, "offset": 1}).json()
    assert one["campaigns"] == [c.model_dump() for c in page.campaigns[1:2]]
    other = simulator.users()[1]["ads_client_id"]
    refused = api_get(simulator.base_url, f"/ads/clients/{other}/sponsored/campaigns", seller.token)
    assert_error_shape(refused, 403)


def test_rate_limit_sends_429_with_retry_after(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(rate_limit_per_minute=3)
    seller = consented(sim, "seller01")
    statuses = [api_get(sim.base_url, "/me", seller.token).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = api_get(sim.base_url, "/me", seller.token)
    assert_error_shape(limited, 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    sim.advance(61)  # the rolling minute has passed
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200
    stats = sim.stats()
    assert stats["responses_429"] == 1 and stats["rate_limited"] == 1
