"""``GET /sale/offers`` follows allegro-api.md: a sales account's own offers (those its
sponsored ads point to), narrowed by ``offer.id``, paged by ``limit``/``offset``, each with
name, price, stock, publication status, category, image and external id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import (
    OFFERS_PATH,
    Account,
    api_get,
    assert_error_shape,
    last_days,
    stats_params,
    stats_path,
)

Factory = Callable[..., RunningSimulator]
Consented = Callable[[RunningSimulator, str], Account]


def _offers(sim: RunningSimulator, token: str, params: Any = None) -> dict[str, Any]:
    answer = api_get(sim.base_url, OFFERS_PATH, token, params)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def test_an_offer_has_the_documented_fields(simulator: RunningSimulator, seller: Account) -> None:
    offers = simulator.offers(seller.login)
    assert offers
    for offer in offers:
        assert {
            "id", "name", "sellingMode", "stock", "publication", "category", "primaryImage",
            "external",
        } <= set(offer)  # fmt: skip
        assert offer["sellingMode"]["format"] == "BUY_NOW"
        price = offer["sellingMode"]["price"]
        assert price["currency"] == "PLN"
        whole, cents = price["amount"].split(".")
        assert whole.isdigit() and len(cents) == 2
        assert offer["stock"]["available"] >= 0 and offer["stock"]["sold"] >= 0
        assert offer["publication"]["status"] in {"ACTIVE", "INACTIVE", "ENDED", "ACTIVATING"}
        assert offer["category"]["id"].isdigit()
        assert offer["primaryImage"]["url"].startswith("https://")
        assert offer["external"] is None or offer["external"]["id"]


def test_the_offers_are_those_the_sponsored_ads_point_to(
    simulator: RunningSimulator, seller: Account, agency: Account
) -> None:
    truth = simulator.truth(seller.ads_client_id, *last_days(simulator, 60))
    advertised = {ad["ad"]["offerId"] for ad in truth["sponsoredOffers"]}
    offered = {o["id"] for o in simulator.offers(seller.login)}
    assert advertised <= offered
    # Every offer id the agency reads in the statistics resolves through the seller's token.
    params = stats_params(*last_days(simulator, 3))
    stats = api_get(simulator.base_url, stats_path(seller.ads_client_id), agency.token, params)
    some = sorted({ad["ad"]["offerId"] for ad in stats.json()["sponsoredOffers"]})[:5]
    found = _offers(simulator, seller.token, {"offer.id": some})
    assert sorted(o["id"] for o in found["offers"]) == some


def test_some_offers_are_ended_inactive_or_out_of_stock(simulator: RunningSimulator) -> None:
    offers = [o for u in simulator.users() for o in simulator.offers(u["login"])]
    statuses = Counter(o["publication"]["status"] for o in offers)
    assert statuses["ACTIVE"] > len(offers) / 2
    assert statuses["ENDED"] and statuses["INACTIVE"] and statuses["ACTIVATING"]
    assert any(o["stock"]["available"] == 0 for o in offers)
    assert all(
        o["stock"]["available"] > 0 for o in offers if o["publication"]["status"] == "ACTIVE"
    )


def test_the_answer_pages_with_count_and_total_count(
    simulator: RunningSimulator, seller: Account
) -> None:
    every = simulator.offers(seller.login)
    first = _offers(simulator, seller.token)
    assert first["totalCount"] == len(every)
    assert first["count"] == len(first["offers"]) == min(20, len(every))
    second = _offers(simulator, seller.token, {"limit": 2, "offset": 1})
    assert second["offers"] == every[1:3] and second["count"] == 2
    assert _offers(simulator, seller.token, {"limit": 1000})["offers"] == every


def test_offer_id_is_repeatable_and_unknown_ids_are_skipped(
    simulator: RunningSimulator, seller: Account
) -> None:
    every = simulator.offers(seller.login)
    wanted = [every[2]["id"], every[0]["id"], "99999999999"]
    found = _offers(simulator, seller.token, {"offer.id": wanted})
    assert found["offers"] == [every[0], every[2]]  # in the account's order
    assert found["totalCount"] == found["count"] == 2


def test_limit_and_offset_out_of_range_are_422(
    simulator: RunningSimulator, seller: Account
) -> None:
    for params, name in (
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
    ):
        answer = api_get(simulator.base_url, OFFERS_PATH, seller.token, params)
        assert_error_shape(answer, 422, name)


def test_a_seller_sees_only_its_own_offers(simulator: RunningSimulator, seller: Account) -> None:
    theirs = simulator.offers("seller02")[0]["id"]
    found = _offers(simulator, seller.token, {"offer.id": theirs})
    assert found["offers"] == [] and found["totalCount"] == 0


def test_an_agency_account_has_no_offers(simulator: RunningSimulator, agency: Account) -> None:
    assert _offers(simulator, agency.token) == {"offers": [], "count": 0, "totalCount": 0}


def test_offers_are_deterministic_from_the_seed(simulator_factory: Factory) -> None:
    first, second, other = (simulator_factory(seed=s) for s in (7, 7, 8))
    assert first.offers("seller01") == second.offers("seller01")
    assert first.offers("seller01") != other.offers("seller01")


def test_the_offers_truth_needs_a_known_login(simulator: RunningSimulator) -> None:
    answer = api_get(simulator.base_url, "/_sim/offers/nobody", None)
    assert answer.status_code == 404 and answer.json()["error"]
