"""Fixtures for the Allegro client tests: consented sellers on a live simulator over loopback.

The consent driver lives in ``bench/_sim_session.py`` (the benchmarks use it too) and is
loaded from there, so there is one implementation of "log in, approve, exchange the code".
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.calllog import MemoryCallLog
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.simulator.server import RunningSimulator


def _load_sim_session() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "_sim_session.py"
    spec = importlib.util.spec_from_file_location("bench_sim_session", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sim_session = _load_sim_session()


@dataclass
class Seller:
    """A seller of the simulator, consented once; ``customer_id`` is the seller's login."""

    login: str
    ads_client_id: str

    @property
    def customer_id(self) -> str:
        return self.login


def sellers_of(sim: RunningSimulator) -> list[Seller]:
    """The simulator's sellers (not the agency login), in its order."""
    return [
        Seller(login=str(_attr(u, "login")), ads_client_id=str(_attr(u, "ads_client_id")))
        for u in sim.users()
        if _attr(u, "login") != "agency" and _attr(u, "ads_client_id")
    ]


def _attr(user: Any, name: str) -> Any:
    return user.get(name) if isinstance(user, dict) else getattr(user, name, None)


def sim_today(sim: RunningSimulator) -> date:
    """The simulator's notion of today, so both sides agree on 'yesterday'."""
    today = getattr(getattr(sim, "config", None), "today", None)
    if isinstance(today, date):
        return today
    from allegro_resource.windows import reporting_today

    return reporting_today()


def stat_calls(sim: RunningSimulator) -> int:
    """How many statistics requests the simulator has served (any status)."""
    stats = sim.stats()
    return int(stats.get("statistics", stats.get("statistics_requests", 0)))


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
    """Tokens for the first seller, obtained through the consent page."""
    return sim_session.consented_provider(simulator.base_url, [seller.login], call_log=call_log)


ClientFactory = Callable[..., AllegroAdsClient]


@pytest.fixture
def make_client(call_log: MemoryCallLog) -> Iterator[ClientFactory]:
    """Build a client against a simulator: ``make_client(sim, provider, max_attempts=2)``."""
    made: list[AllegroAdsClient] = []

    def factory(
        sim: RunningSimulator, tokens: StaticTokenProvider, **options: Any
    ) -> AllegroAdsClient:
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
    """A client for the first seller with a small retry budget (tests stay fast)."""
    return make_client(simulator, provider, max_attempts=4, max_retry_seconds=10.0)
