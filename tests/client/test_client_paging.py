"""Paging: lists are followed to their totalCount."""

from __future__ import annotations

from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import ClientFactory, sellers_of, sim_session


def test_paging_returns_all_2500_clients_of_a_large_agency(
    simulator_factory: object, make_client: ClientFactory, call_log: MemoryCallLog
) -> None:
    sim: RunningSimulator = simulator_factory(users=2500)  # type: ignore[operator]
    provider = sim_session.consented_provider(sim.base_url, ["agency"])
    client = make_client(sim, provider)

    clients = client.list_clients("agency")

    assert len(clients) == 2500
    assert len({c.id for c in clients}) == 2500
    assert {c.id for c in clients} == {s.ads_client_id for s in sellers_of(sim)}
    pages = [c for c in call_log.snapshot() if c.endpoint == "/ads/clients"]
    assert [c.rows for c in pages] == [1000, 1000, 500]


def test_a_seller_sees_only_its_own_client(
    simulator: RunningSimulator, make_client: ClientFactory
) -> None:
    seller = sellers_of(simulator)[1]
    provider = sim_session.consented_provider(simulator.base_url, [seller.login])
    client = make_client(simulator, provider)

    assert [c.id for c in client.list_clients(seller.customer_id)] == [seller.ads_client_id]


def test_campaigns_of_a_client_are_listed(
    simulator: RunningSimulator, make_client: ClientFactory
) -> None:
    seller = sellers_of(simulator)[0]
    provider = sim_session.consented_provider(simulator.base_url, [seller.login])
    client = make_client(simulator, provider)

    campaigns = client.list_campaigns(seller.customer_id, seller.ads_client_id)

    assert campaigns
    assert len({c.id for c in campaigns}) == len(campaigns)
