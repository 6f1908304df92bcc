"""Helpers for the Allegro client tests: the simulator's sellers, its today, its counters.

The consent driver lives in ``testing/bench_simulator.py`` (the benchmark uses it too) and is
imported as ``sim_session``: one implementation of "log in, approve, exchange" and of the
agency account's device flow. The agency account's tokens are held as ``AGENCY``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from allegro_resource.ads_client import AllegroAdsClient, StatsJob
from simulator.server import RunningSimulator
from testing import bench_simulator as sim_session

__all__ = [
    "AGENCY",
    "ClientFactory",
    "Seller",
    "sellers_of",
    "sim_session",
    "sim_today",
    "stat_calls",
]

AGENCY = sim_session.AGENCY_ACCOUNT_ID
ClientFactory = Callable[..., AllegroAdsClient]
"""The ``make_client`` fixture: ``make_client(sim, tokens, **AllegroAdsClient options)``."""


@dataclass
class Seller:
    """A seller of the simulator, consented once; ``customer_id`` is the seller's login."""

    login: str
    ads_client_id: str

    @property
    def customer_id(self) -> str:
        return self.login

    @property
    def job(self) -> StatsJob:
        """This seller's statistics, read with the agency account's token."""
        return StatsJob(self.customer_id, AGENCY, self.ads_client_id)


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
    return date.fromisoformat(sim_session.sim_get(sim.base_url, "/_sim/clock")["today"])


def stat_calls(sim: RunningSimulator) -> int:
    """How many statistics requests the simulator has received (any status)."""
    return int(sim.stats()["statistics_calls"])
