"""Fixtures for the simulator's contract tests; the helpers live in ``sim_helpers.py``
(``consent(base_url, login)`` drives the consent page and returns the token JSON)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import Account, consent


@pytest.fixture
def seller(simulator: RunningSimulator) -> Account:
    """seller01 of the default simulator (a client of "agency"), consented through the page."""
    first = simulator.users()[0]
    return Account(
        first["login"], first["ads_client_id"], consent(simulator.base_url, first["login"])
    )


@pytest.fixture
def agency(simulator: RunningSimulator) -> Account:
    """The agency account of the default simulator, consented through the page."""
    login = simulator.agency()["login"]
    return Account(login, "", consent(simulator.base_url, login))


@pytest.fixture
def consented() -> Callable[[RunningSimulator, str], Account]:
    """Consent any login on any simulator: ``consented(sim, "seller02")``."""

    def make(sim: RunningSimulator, login: str) -> Account:
        users = {u["login"]: u for u in sim.users()}
        client = users[login]["ads_client_id"] if login in users else ""
        return Account(login, client, consent(sim.base_url, login))

    return make
