"""Fixtures for the Allegro client tests: consented sellers on a live simulator over loopback.

Helpers (consent driver, sellers, the simulator's today) live in ``client_helpers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.token_provider import TokenProvider
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import ClientFactory, Seller, sellers_of, sim_session, sim_today


@pytest.fixture
def call_log() -> MemoryCallLog:
    return MemoryCallLog()


@pytest.fixture
def seller(simulator: RunningSimulator) -> Seller:
    return sellers_of(simulator)[0]


@pytest.fixture
def provider(
    simulator: RunningSimulator, seller: Seller, call_log: MemoryCallLog
) -> StaticTokenProvider:
    """Tokens for the first seller (consent page) and the agency account (device flow)."""
    tokens: StaticTokenProvider = sim_session.consented_provider(
        simulator.base_url, [seller.login], call_log=call_log, agency=True
    )
    return tokens


@pytest.fixture
def make_client(call_log: MemoryCallLog) -> Iterator[ClientFactory]:
    """Build a client against a simulator: ``make_client(sim, provider, max_attempts=2)``."""
    made: list[AllegroAdsClient] = []

    def factory(sim: RunningSimulator, tokens: TokenProvider, **options: Any) -> AllegroAdsClient:
        options.setdefault("today", lambda: sim_today(sim))
        options.setdefault("run_id", "test-run")
        client = AllegroAdsClient(sim.base_url, tokens, call_log, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


@pytest.fixture
def client(
    simulator: RunningSimulator, provider: StaticTokenProvider, make_client: ClientFactory
) -> AllegroAdsClient:
    """A client for the first seller and the agency with a small retry budget (tests stay
    fast)."""
    return make_client(simulator, provider, max_attempts=4, max_retry_seconds=10.0)
