"""Latency spikes (``spike_rate`` + ``spike_ms``): a share of the matching calls waits several
seconds on top of ``latency_ms``, drawn reproducibly, counted, and refused when out of range."""

from __future__ import annotations

import time

import pytest
import requests

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import (
    TIMEOUT,
    Account,
    api_get,
    last_days,
    refresh,
    stats_params,
    stats_path,
)

SPIKE_MS = 400


def _timed_me(sim: RunningSimulator, seller: Account) -> float:
    began = time.monotonic()
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200
    return time.monotonic() - began


def test_spike_rate_one_delays_every_api_call_by_spike_ms_on_top_of_latency(
    simulator: RunningSimulator, seller: Account
) -> None:
    simulator.faults(latency_ms=100, spike_rate=1.0, spike_ms=SPIKE_MS)

    elapsed = [_timed_me(simulator, seller) for _ in range(2)]

    assert all(seconds >= (100 + SPIKE_MS) / 1000 for seconds in elapsed), elapsed
    stats = simulator.stats()
    assert stats["faults"]["spike"] == 2 and stats["faults"]["latency"] == 2


def test_a_spiked_call_still_answers_correctly(
    simulator: RunningSimulator, seller: Account, agency: Account
) -> None:
    path = stats_path(seller.ads_client_id)
    params = stats_params(*last_days(simulator, 3))
    calm = api_get(simulator.base_url, path, agency.token, params)
    simulator.faults(spike_rate=1.0, spike_ms=SPIKE_MS)

    spiked = api_get(simulator.base_url, path, agency.token, params)

    assert spiked.status_code == 200 and spiked.content == calm.content


def test_spike_rate_delays_about_that_share_of_calls(
    simulator: RunningSimulator, seller: Account
) -> None:
    simulator.faults(spike_rate=0.5, spike_ms=20)

    for _ in range(40):
        api_get(simulator.base_url, "/me", seller.token)

    spikes = simulator.stats()["faults"]["spike"]
    assert 8 <= spikes <= 32
    assert simulator.stats()["faults_injected"] == spikes


def test_spikes_spare_oauth_unless_asked(simulator: RunningSimulator, seller: Account) -> None:
    simulator.faults(spike_rate=1.0, spike_ms=SPIKE_MS)
    renewed = refresh(simulator.base_url, seller.tokens["refresh_token"])
    assert renewed.status_code == 200
    assert simulator.stats()["faults"].get("spike", 0) == 0  # by the count, not the clock

    simulator.faults(include_oauth=True)
    began = time.monotonic()
    assert refresh(simulator.base_url, renewed.json()["refresh_token"]).status_code == 200
    assert time.monotonic() - began >= SPIKE_MS / 1000
    assert simulator.stats()["faults"]["spike"] == 1


def test_spikes_are_switched_off_by_a_zero_rate(
    simulator: RunningSimulator, seller: Account
) -> None:
    simulator.faults(spike_rate=1.0, spike_ms=SPIKE_MS)
    simulator.faults(spike_rate=0)

    assert _timed_me(simulator, seller) < SPIKE_MS / 1000
    assert simulator.stats()["faults"].get("spike", 0) == 0


@pytest.mark.parametrize(
    "body",
    [{"spike_rate": 1.5}, {"spike_rate": -0.1}, {"spike_rate": True}, {"spike_ms": -1}],
)
def test_bad_spike_settings_are_refused(
    simulator: RunningSimulator, body: dict[str, object]
) -> None:
    answer = requests.post(f"{simulator.base_url}/_sim/faults", json=body, timeout=TIMEOUT)

    assert answer.status_code == 400
    assert next(iter(body)) in answer.json()["error"]
