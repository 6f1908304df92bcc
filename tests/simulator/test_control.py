"""The /_sim/ control endpoints answer the shapes docs/simulator.md promises: accounts with
their passwords, agency client ids and owning agencies, the clock, the configuration."""

from __future__ import annotations

from collections.abc import Callable

import requests

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import PASSWORD, TIMEOUT

Factory = Callable[..., RunningSimulator]
ACCOUNT_FIELDS = {
    "login", "password", "user_id", "ads_client_id", "agency_login", "name", "email",
    "first_name", "last_name", "agency",
}  # fmt: skip


def test_users_are_the_sellers_with_client_id_and_owning_agency(
    simulator: RunningSimulator,
) -> None:
    users = simulator.users()
    assert [u["login"] for u in users] == [f"seller{i:02d}" for i in range(1, 11)]
    for user in users:
        assert set(user) == ACCOUNT_FIELDS
        assert (user["password"], user["agency_login"], user["agency"]) == (
            PASSWORD, "agency", False,
        )  # fmt: skip


def test_agency_is_the_first_agency_account_with_its_clients(
    simulator: RunningSimulator,
) -> None:
    agency = simulator.agency()
    assert set(agency) == ACCOUNT_FIELDS | {"clients"}
    assert (agency["login"], agency["agency"], agency["ads_client_id"]) == ("agency", True, None)
    assert agency["clients"] == [u["ads_client_id"] for u in simulator.users()]
    assert simulator.agencies() == [agency]


def test_agencies_lists_each_agency_with_its_own_clients(simulator_factory: Factory) -> None:
    sim = simulator_factory(users=5, agencies=2)
    agencies = {a["login"]: a["clients"] for a in sim.agencies()}
    by_agency = {
        login: [u["ads_client_id"] for u in sim.users() if u["agency_login"] == login]
        for login in ("agency", "agency2")
    }
    assert agencies == by_agency
    assert [len(c) for c in agencies.values()] == [3, 2]


def test_the_clock_moves_forward_only(simulator: RunningSimulator) -> None:
    before = simulator.clock()
    simulator.advance(86400)
    after = simulator.clock()
    assert after["offset"] == before["offset"] + 86400
    assert after["now"] - before["now"] >= 86400
    for body in ({"advance_seconds": -1}, {"advance_seconds": "1"}, {}):
        answer = requests.post(f"{simulator.base_url}/_sim/clock", json=body, timeout=TIMEOUT)
        assert answer.status_code == 400 and answer.json()["error"]


def test_the_clock_moves_today_when_it_is_not_pinned(simulator: RunningSimulator) -> None:
    today = simulator.today()
    simulator.advance(2 * 86400)
    assert (simulator.today() - today).days in (2, 3)  # 3 if midnight passed meanwhile


def test_config_reports_the_settings_in_force(simulator_factory: Factory) -> None:
    sim = simulator_factory(agencies=2, code_ttl_seconds=30, send_retry_after=True)
    config = sim.config()
    assert (config["agencies"], config["code_ttl_seconds"], config["send_retry_after"]) == (
        2, 30, True,
    )  # fmt: skip
    assert config["default_scope"] == " ".join(config["registered_scopes"])
    assert config["refresh_grace_seconds"] == 60 and config["rate_limit_per_minute"] == 9000


def test_unknown_sim_paths_are_404_json(simulator: RunningSimulator) -> None:
    answer = requests.get(f"{simulator.base_url}/_sim/nothing", timeout=TIMEOUT)
    assert answer.status_code == 404 and answer.json()["error"]
