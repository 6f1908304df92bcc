"""Fixtures for the simulator's contract tests; the helpers live in ``sim_helpers.py``
(``consent(base_url, login)`` drives the consent page and returns the token JSON)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import Seller, consent


@pytest.fixture
def seller(simulator: RunningSimulator) -> Seller:
    """seller01 of the default simulator, consented through the page."""
    first = simulator.users()[0]
    return Seller(
        first["login"], first["ads_client_id"], consent(simulator.base_url, first["login"])
    )


@pytest.fixture
def consented() -> Callable[[RunningSimulator, str], Seller]:
    """Consent any login on any simulator: ``consented(sim, "seller02")``."""

    def make(sim: RunningSimulator, login: str) -> Seller:
        users = {u["login"]: u for u in sim.users()}
        client = users[login]["ads_client_id"] if login in users else ""
        return Seller(login, client, consent(sim.base_url, login))

    return make
