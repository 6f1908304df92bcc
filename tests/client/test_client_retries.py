"""Retries: 429 honours Retry-After, 5xx backs off, and the caps end in a clear typed error."""

from __future__ import annotations

import socket
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import AllegroUnavailable, RateLimited, ServerError
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.transport import RateGate, parse_retry_after
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import AGENCY, ClientFactory, Seller, sim_session, sim_today


def _one_window(sim: RunningSimulator) -> tuple[date, date]:
    end = sim_today(sim) - timedelta(days=1)
    return end - timedelta(days=6), end


def test_a_429_with_retry_after_2_waits_2_seconds_then_succeeds(
    simulator: RunningSimulator,
    provider: StaticTokenProvider,
    make_client: ClientFactory,
    seller: Seller,
    call_log: MemoryCallLog,
) -> None:
    start, end = _one_window(simulator)
    clock = _SimulatorTime(simulator)
    client = make_client(
        simulator, provider, max_attempts=4, max_retry_seconds=10.0, sleep=clock.sleep,
        clock=clock.clock,
    )  # fmt: skip
    simulator.faults(throttle_next=1, retry_after=2)

    rows = client.fetch_statistics(seller.job, start, end)

    assert rows
    assert clock.slept == [2.0]  # exactly what Allegro asked for, once
    assert [c.status for c in call_log.snapshot() if c.endpoint.endswith("/statistics")] == [
        429,
        200,
    ]


def test_a_burst_of_5xx_is_retried_and_succeeds(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller, call_log: MemoryCallLog
) -> None:
    start, end = _one_window(simulator)
    simulator.faults(fail_next=2, fail_status=503)

    rows = client.fetch_statistics(seller.job, start, end)

    assert rows
    calls = [c for c in call_log.snapshot() if c.endpoint.endswith("/statistics")]
    assert [(c.status, c.attempt) for c in calls] == [(503, 1), (503, 2), (200, 3)]


def test_a_permanent_5xx_fails_after_the_cap_with_a_clear_server_error(
    simulator: RunningSimulator,
    provider: StaticTokenProvider,
    make_client: ClientFactory,
    seller: Seller,
    call_log: MemoryCallLog,
) -> None:
    client = make_client(simulator, provider, max_attempts=3, max_retry_seconds=5.0)
    start, end = _one_window(simulator)
    simulator.faults(fail_rate=1.0, fail_status=500)

    with pytest.raises(
        ServerError, match=r"(?i)gave up after 3 attempts.*try again later"
    ) as caught:
        client.fetch_statistics(seller.job, start, end)

    assert caught.value.status == 500
    assert caught.value.customer_id == seller.customer_id
    assert len([c for c in call_log.snapshot() if c.endpoint.endswith("/statistics")]) == 3


def test_the_retry_budget_in_seconds_caps_a_persistent_429(
    simulator: RunningSimulator,
    provider: StaticTokenProvider,
    make_client: ClientFactory,
    seller: Seller,
) -> None:
    clock = _SimulatorTime(simulator)
    client = make_client(
        simulator, provider, max_attempts=10, max_retry_seconds=1.0, sleep=clock.sleep,
        clock=clock.clock,
    )  # fmt: skip
    start, end = _one_window(simulator)
    simulator.faults(throttle_next=10, retry_after=5)

    with pytest.raises(RateLimited, match="asked to wait 5 s"):
        client.fetch_statistics(seller.job, start, end)

    assert clock.slept == []  # waiting 5 s would break the 1 s budget: no wait


def test_a_closed_port_raises_allegro_unavailable(
    provider: StaticTokenProvider, call_log: MemoryCallLog, seller: Seller
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AllegroAdsClient(
        f"http://127.0.0.1:{port}", provider, call_log, max_attempts=2, max_retry_seconds=2.0
    )

    with pytest.raises(AllegroUnavailable, match=r"could not connect.*Check the network"):
        client.me(seller.customer_id)

    assert [c.status for c in call_log.snapshot() if c.endpoint == "/me"] == [None, None]


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert parse_retry_after("2") == 2.0
    assert 8.0 <= (parse_retry_after(in_ten) or 0) <= 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


class _SimulatorTime:
    """The client's sleep and monotonic clock on the simulator's time: a wait moves the
    simulator's clock instead of taking real seconds."""

    def __init__(self, sim: RunningSimulator) -> None:
        self.sim, self.offset, self.slept = sim, 0.0, list[float]()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds
        self.sim.advance(seconds)

    def clock(self) -> float:
        return time.monotonic() + self.offset


def test_a_429_without_retry_after_waits_out_the_one_minute_block_then_succeeds(
    simulator_factory: object, make_client: ClientFactory, call_log: MemoryCallLog
) -> None:
    sim: RunningSimulator = simulator_factory(rate_limit_per_minute=3)  # type: ignore[operator]
    tokens = sim_session.consented_provider(sim.base_url, [], agency=True)
    clock = _SimulatorTime(sim)
    client = make_client(
        sim, tokens, max_attempts=3, max_retry_seconds=90.0, sleep=clock.sleep, clock=clock.clock
    )
    for _ in range(3):  # the application's whole minute of calls
        client.me(AGENCY)

    began = time.monotonic()
    me = client.me(AGENCY)

    assert me.login == "agency"
    assert clock.slept == [60.0]  # the block, no Retry-After sent: exactly one wait of a minute
    # Waited on the simulator's clock, not the wall's: a real wait would take the whole minute.
    assert time.monotonic() - began < 50
    assert [c.status for c in call_log.snapshot() if c.endpoint == "/me"][-2:] == [429, 200]
    assert sim.stats()["responses_429"] == 1


def test_a_block_longer_than_the_retry_budget_gives_up_at_once_saying_so(
    simulator_factory: object, make_client: ClientFactory
) -> None:
    sim: RunningSimulator = simulator_factory(rate_limit_per_minute=1)  # type: ignore[operator]
    tokens = sim_session.consented_provider(sim.base_url, [], agency=True)
    clock = _SimulatorTime(sim)
    client = make_client(
        sim, tokens, max_attempts=5, max_retry_seconds=10.0, sleep=clock.sleep, clock=clock.clock
    )
    client.me(AGENCY)

    with pytest.raises(RateLimited, match="blocked for a minute"):
        client.me(AGENCY)

    assert clock.slept == []


def test_a_new_block_is_waited_for_exactly_its_length() -> None:
    # (now + 60) - now is not 60 for most float clocks: here 60.000000000000455.
    gate = RateGate(clock=lambda: 4094.099686223162)
    assert gate.block(60.0) == 60.0
    assert RateGate(clock=lambda: 4094.099686223162).blocked_for(7.0) == 7.0
