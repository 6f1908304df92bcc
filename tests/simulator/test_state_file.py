"""``state_file``: a simulator keeps consents, tokens (and their grace), device grants,
revocations and its clock in one JSON file, rewritten atomically, so a restarted simulator
carries on where the old one stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import persistence
from simulator.persistence import StateFileError
from simulator.server import RunningSimulator, start_simulator
from simulator.state import SimulatorConfig, SimulatorState
from tests.simulator.sim_helpers import (
    CLIENT_ID,
    TIMEOUT,
    api_get,
    assert_oauth_error,
    assert_token_expired,
    consent,
    refresh,
    token_request,
)

Start = Callable[..., RunningSimulator]


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "simulator-state.json"


@pytest.fixture
def start(state_file: Path) -> Iterator[Start]:
    """Start a simulator on ``state_file``; ``restart(old)`` stops it and starts another."""
    running: list[RunningSimulator] = []

    def make(**config: Any) -> RunningSimulator:
        sim = start_simulator(SimulatorConfig(state_file=str(state_file), **config))
        running.append(sim)
        return sim

    yield make
    for sim in running:
        sim.stop()


def _restart(old: RunningSimulator, start: Start, **config: Any) -> RunningSimulator:
    old.stop()
    return start(**config)


def test_a_missing_file_is_created_at_start(start: Start, state_file: Path) -> None:
    start()
    assert json.loads(state_file.read_text())["version"] == persistence.STATE_VERSION


def test_tokens_issued_before_a_restart_still_work(start: Start) -> None:
    first = start()
    tokens = consent(first.base_url, "seller01")
    second = _restart(first, start)
    assert api_get(second.base_url, "/me", tokens["access_token"]).json()["login"] == "seller01"
    assert refresh(second.base_url, tokens["refresh_token"]).status_code == 200
    assert [c["login"] for c in second.consents()] == ["seller01"]


def test_the_clock_survives_a_restart(start: Start) -> None:
    first = start()
    first.advance(7200)
    second = _restart(first, start)
    assert second.clock()["offset"] == 7200


def test_a_revocation_survives_a_restart(start: Start) -> None:
    first = start()
    tokens = consent(first.base_url, "seller01")
    first.revoke("seller01")
    second = _restart(first, start)
    assert_token_expired(
        api_get(second.base_url, "/me", tokens["access_token"]), tokens["access_token"]
    )
    assert_oauth_error(refresh(second.base_url, tokens["refresh_token"]), 400, "invalid_grant")
    assert second.consents() == []


def test_a_used_refresh_tokens_grace_survives_a_restart(start: Start) -> None:
    first = start()
    tokens = consent(first.base_url, "agency")
    assert refresh(first.base_url, tokens["refresh_token"]).status_code == 200
    second = _restart(first, start)
    # The refresh killed the old access token; the old refresh token is in its grace.
    assert api_get(second.base_url, "/me", tokens["access_token"]).status_code == 401
    assert refresh(second.base_url, tokens["refresh_token"]).status_code == 200
    second.advance(61)
    assert_oauth_error(refresh(second.base_url, tokens["refresh_token"]), 400, "invalid_grant")


def test_a_pending_device_grant_survives_a_restart(start: Start) -> None:
    first = start(device_interval_seconds=0)
    started = requests.post(
        f"{first.base_url}/auth/oauth/device",
        data={"client_id": CLIENT_ID},
        auth=(CLIENT_ID, first.app.config.client_secret),
        timeout=TIMEOUT,
    ).json()
    second = _restart(first, start, device_interval_seconds=0)
    second.confirm_device(started["user_code"], "agency")
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": started["device_code"],
    }
    tokens = token_request(second.base_url, poll).json()
    assert api_get(second.base_url, "/me", tokens["access_token"]).json()["login"] == "agency"


def test_faults_do_not_survive_a_restart(start: Start) -> None:
    first = start()
    first.faults(fail_rate=1.0)
    second = _restart(first, start)
    assert second.faults()["fail_rate"] == 0


def test_every_change_leaves_a_whole_file_and_no_temporary_one(
    start: Start, state_file: Path
) -> None:
    sim = start()
    for login in ("seller01", "seller02", "agency"):
        consent(sim.base_url, login)
        document = json.loads(state_file.read_text())
        assert len(document["access_tokens"]) == len(document["consents"])
    assert os.listdir(state_file.parent) == [state_file.name]


def test_a_failed_write_keeps_the_previous_file(
    state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = SimulatorState(SimulatorConfig(state_file=str(state_file)))
    before = state_file.read_bytes()

    def refuse(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        state.advance(60)
    assert state_file.read_bytes() == before
    assert os.listdir(state_file.parent) == [state_file.name]


def test_another_simulators_file_is_refused(state_file: Path) -> None:
    SimulatorState(SimulatorConfig(seed=1, state_file=str(state_file)))
    with pytest.raises(StateFileError, match="seed 1"):
        SimulatorState(SimulatorConfig(seed=2, state_file=str(state_file)))


def test_a_corrupt_file_is_refused(state_file: Path) -> None:
    state_file.write_text('{"version": 1, "seed":')
    with pytest.raises(StateFileError, match="delete it to start afresh"):
        SimulatorState(SimulatorConfig(state_file=str(state_file)))


def test_a_file_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="does not exist"):
        SimulatorState(SimulatorConfig(state_file=str(tmp_path / "no" / "state.json")))
