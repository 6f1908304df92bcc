"""The agency account's client list: taken whole when Allegro does not page it (as documented),
pages followed only when ``count``/``totalCount`` appear, extra fields accepted."""

from __future__ import annotations

from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import AGENCY, ClientFactory, sellers_of, sim_session

CLIENTS = "/advertising-agencies/clients"


def test_the_unpaged_list_of_a_large_agency_is_read_in_one_call(
    simulator_factory: object, make_client: ClientFactory, call_log: MemoryCallLog
) -> None:
    sim: RunningSimulator = simulator_factory(users=2500)  # type: ignore[operator]
    tokens = sim_session.consented_provider(sim.base_url, [], agency=True)
    client = make_client(sim, tokens)

    clients = client.list_agency_clients(AGENCY)

    assert [c.id for c in clients] == [s.ads_client_id for s in sellers_of(sim)]
    assert [c.rows for c in call_log.snapshot() if c.endpoint == CLIENTS] == [2500]


def test_a_paged_list_is_followed_to_its_total_count(
    simulator_factory: object, make_client: ClientFactory, call_log: MemoryCallLog
) -> None:
    sim: RunningSimulator = simulator_factory(users=45, clients_paging=True)  # type: ignore[operator]
    tokens = sim_session.consented_provider(sim.base_url, [], agency=True)
    client = make_client(sim, tokens)

    clients = client.list_agency_clients(AGENCY)

    assert [c.id for c in clients] == [s.ads_client_id for s in sellers_of(sim)]
    assert [c.rows for c in call_log.snapshot() if c.endpoint == CLIENTS] == [20, 20, 5]


def test_each_agency_account_lists_only_its_own_clients(
    simulator_factory: object, make_client: ClientFactory
) -> None:
    sim: RunningSimulator = simulator_factory(users=6, agencies=2)  # type: ignore[operator]
    oauth = sim_session.sim_oauth(sim.base_url)
    tokens = sim_session.consented_provider(sim.base_url, [], agency=True)
    tokens.put("ag_second", sim_session.device_consent(oauth, sim.base_url, "agency2"))
    client = make_client(sim, tokens)

    first = {c.id for c in client.list_agency_clients(AGENCY)}
    second = {c.id for c in client.list_agency_clients("ag_second")}

    by_agency = {s["ads_client_id"]: s["agency_login"] for s in sim.users()}
    assert first and second and not first & second
    assert {by_agency[c] for c in first} == {"agency"}
    assert {by_agency[c] for c in second} == {"agency2"}


def test_clients_with_fields_the_client_does_not_know_are_accepted(
    simulator: RunningSimulator, make_client: ClientFactory
) -> None:
    tokens = sim_session.consented_provider(simulator.base_url, [], agency=True)
    client = make_client(simulator, tokens)
    expected = client.list_agency_clients(AGENCY)
    simulator.faults(extra_field=True)

    assert client.list_agency_clients(AGENCY) == expected
