"""Seller data with the sales account's token: ``/me`` and the offers the ads point to, asked for
by id in chunks (short URLs), with price as an exact decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import MalformedResponse
from allegro_resource.models import Offer
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import ClientFactory, Seller, sim_session


def _expected(sim: RunningSimulator, login: str) -> dict[str, Offer]:
    """The simulator's offers of ``login`` as the client should read them."""
    return {
        o["id"]: Offer(
            id=o["id"],
            name=o["name"],
            price=Decimal(o["sellingMode"]["price"]["amount"]),
            currency=o["sellingMode"]["price"]["currency"],
            stock_available=o["stock"]["available"],
            stock_sold=o["stock"]["sold"],
            status=o["publication"]["status"],
        )
        for o in sim.offers(login)
    }


def test_me_names_the_sales_account_the_token_belongs_to(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    me = client.me(seller.customer_id)

    (user,) = [u for u in simulator.users() if u["login"] == seller.login]
    assert (me.id, me.login) == (user["user_id"], seller.login)


def test_offers_are_read_by_id_100_ids_a_request_and_equal_the_sellers_offers(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller, call_log: MemoryCallLog
) -> None:
    expected = _expected(simulator, seller.login)
    assert len(expected) > 100, "the first seller should have more than one chunk of offers"
    asked = [*expected, "99999999999"]  # an id that is not the seller's is simply absent

    offers = client.offers(seller.customer_id, asked)

    assert {o.id: o for o in offers} == expected
    requests = [c for c in call_log.snapshot() if c.endpoint == "/sale/offers"]
    assert len(requests) == -(-len(asked) // 100)
    statuses = {o.status for o in offers}
    assert {"ACTIVE", "ENDED"} <= statuses


def test_without_ids_every_offer_of_the_seller_is_read(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    offers = client.offers(seller.customer_id)

    assert {o.id: o for o in offers} == _expected(simulator, seller.login)


def test_a_malformed_offer_raises_naming_the_endpoint_customer_and_field(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller
) -> None:
    tokens = sim_session.consented_provider(simulator.base_url, [seller.login])
    client = make_client(simulator, tokens)
    simulator.faults(malformed_next=1)

    with pytest.raises(MalformedResponse) as caught:
        client.offers(seller.customer_id, ["1"])

    assert caught.value.endpoint == "/sale/offers"
    assert caught.value.customer_id == seller.customer_id
    assert caught.value.field
