"""Switchable faults (POST /_sim/faults): each does what allegro-api.md's failure list needs,
on API paths only (OAuth with include_oauth), optionally for named agency clients only."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import requests

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import (
    CLIENTS_PATH,
    OFFERS_PATH,
    TIMEOUT,
    Account,
    api_get,
    assert_error_shape,
    assert_forbidden,
    last_days,
    refresh,
    stats_params,
    stats_path,
)

Consented = Callable[[RunningSimulator, str], Account]


def _stats(
    sim: RunningSimulator, agency: Account, client_id: str | None = None
) -> requests.Response:
    client = client_id or sim.users()[0]["ads_client_id"]
    return api_get(sim.base_url, stats_path(client), agency.token, stats_params(*last_days(sim, 3)))


def test_latency_delays_api_responses(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(latency_ms=300)
    began = time.monotonic()
    assert api_get(simulator.base_url, "/me", agency.token).status_code == 200
    assert time.monotonic() - began >= 0.3
    requests.get(f"{simulator.base_url}/_sim/users", timeout=TIMEOUT)
    # Simulator controls are never slowed down: only /me was delayed, by the count.
    assert simulator.stats()["faults"]["latency"] == 1


def test_fail_next_is_a_burst_then_recovery(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(fail_next=2)
    first, second, third = (_stats(simulator, agency) for _ in range(3))
    assert_error_shape(first, 503)
    assert_error_shape(second, 503)
    assert third.status_code == 200
    assert simulator.stats()["faults"]["fail"] == 2


def test_fail_status_is_configurable(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(fail_next=1, fail_status=502)
    assert_error_shape(api_get(simulator.base_url, "/me", agency.token), 502)


def test_fail_rate_one_is_a_permanent_outage(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(fail_rate=1.0, fail_status=500)
    assert [_stats(simulator, agency).status_code for _ in range(5)] == [500] * 5
    simulator.faults(fail_rate=0.0)
    assert _stats(simulator, agency).status_code == 200


def test_fail_rate_fails_about_that_share(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(fail_rate=0.5)
    statuses = [api_get(simulator.base_url, "/me", agency.token).status_code for _ in range(40)]
    assert 8 <= statuses.count(503) <= 32
    assert set(statuses) == {200, 503}


def test_a_429_storm_without_retry_after(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(throttle_next=1, retry_after=0)
    storm = _stats(simulator, agency)
    assert_error_shape(storm, 429)
    assert "Retry-After" not in storm.headers


def test_429_storm_sends_retry_after(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(throttle_next=3, retry_after=7)
    storm = [_stats(simulator, agency) for _ in range(3)]
    for answer in storm:
        assert_error_shape(answer, 429)
        assert answer.headers["Retry-After"] == "7"
    assert _stats(simulator, agency).status_code == 200
    stats = simulator.stats()
    assert stats["responses_429"] == 3 and stats["faults"]["throttle"] == 3


def test_truncate_next_cuts_the_json_body(simulator: RunningSimulator, agency: Account) -> None:
    whole = _stats(simulator, agency).content
    simulator.faults(truncate_next=1)
    cut = _stats(simulator, agency)
    assert cut.status_code == 200
    assert whole.startswith(cut.content) and len(cut.content) == len(whole) // 2
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    assert _stats(simulator, agency).content == whole


def test_malformed_next_sends_json_of_wrong_types(
    simulator: RunningSimulator, agency: Account
) -> None:
    simulator.faults(malformed_next=2)
    bad = _stats(simulator, agency)
    assert bad.status_code == 200
    assert {d["data"]["views"] for ad in bad.json()["sponsoredOffers"] for d in ad["dayData"]} == {
        "abc"
    }
    clients = api_get(simulator.base_url, CLIENTS_PATH, agency.token).json()["clients"]
    assert {(c["id"], c["name"]) for c in clients} == {(12345, None)}
    assert _stats(simulator, agency).json()["sponsoredOffers"][0]["dayData"][0]["data"][
        "views"
    ] != ("abc")  # over


def test_malformed_offers_have_wrong_types(simulator: RunningSimulator, seller: Account) -> None:
    simulator.faults(malformed_next=1)
    bad = api_get(simulator.base_url, OFFERS_PATH, seller.token).json()
    assert bad["count"] == "abc" and {o["stock"] for o in bad["offers"]} == {"abc"}


def test_extra_field_adds_unknown_fields(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(extra_field=True)
    answer = _stats(simulator, agency).json()
    ad = answer["sponsoredOffers"][0]
    assert "simulatorExtra" in ad and "unknownMetric" in ad["dayData"][0]["data"]
    clients = api_get(simulator.base_url, CLIENTS_PATH, agency.token).json()
    assert "simulatorExtra" in clients and all("simulatorExtra" in c for c in clients["clients"])


def test_extra_field_reaches_the_offers_too(simulator: RunningSimulator, seller: Account) -> None:
    simulator.faults(extra_field=True)
    offers = api_get(simulator.base_url, OFFERS_PATH, seller.token).json()
    assert all("simulatorExtra" in o for o in offers["offers"])


def test_missing_field_drops_clicks(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(missing_field=True)
    answer = _stats(simulator, agency).json()
    days = [d["data"] for ad in answer["sponsoredOffers"] for d in ad["dayData"]]
    assert days and all("clicks" not in d and "views" in d for d in days)


def test_a_client_removed_from_the_agency_leaves_its_list_and_is_forbidden(
    simulator: RunningSimulator, agency: Account
) -> None:
    removed = simulator.users()[2]["ads_client_id"]
    simulator.faults(remove_clients=[removed])
    listed = api_get(simulator.base_url, CLIENTS_PATH, agency.token).json()["clients"]
    assert removed not in [c["id"] for c in listed] and len(listed) == 9
    assert simulator.agency()["clients"] == [c["id"] for c in listed]
    assert_forbidden(_stats(simulator, agency, removed))
    assert _stats(simulator, agency, simulator.users()[1]["ads_client_id"]).status_code == 200
    simulator.faults(remove_clients=[])
    assert _stats(simulator, agency, removed).status_code == 200


def test_faults_can_target_named_clients(simulator: RunningSimulator, agency: Account) -> None:
    hit, spared = (u["ads_client_id"] for u in simulator.users()[:2])
    simulator.faults(fail_next=1, clients=[hit])
    assert _stats(simulator, agency, spared).status_code == 200
    assert api_get(simulator.base_url, "/me", agency.token).status_code == 200
    assert_error_shape(_stats(simulator, agency, hit), 503)
    assert _stats(simulator, agency, hit).status_code == 200


def test_faults_spare_oauth_unless_asked(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(fail_next=1)
    renewed = refresh(simulator.base_url, agency.tokens["refresh_token"])
    assert renewed.status_code == 200
    assert_error_shape(api_get(simulator.base_url, "/me", agency.token), 503)
    simulator.faults(fail_next=1, include_oauth=True)
    failed = refresh(simulator.base_url, renewed.json()["refresh_token"])
    assert failed.status_code == 503
    assert refresh(simulator.base_url, renewed.json()["refresh_token"]).status_code == 200


def test_faults_merge_read_back_and_reset(simulator: RunningSimulator) -> None:
    simulator.faults(latency_ms=10)
    merged = simulator.faults(fail_next=2)
    assert (merged["latency_ms"], merged["fail_next"]) == (10, 2)
    current = requests.get(f"{simulator.base_url}/_sim/faults", timeout=TIMEOUT).json()
    assert current == merged
    cleared = simulator.faults(reset=True)
    assert cleared["latency_ms"] == 0 and cleared["fail_next"] == 0


def test_bad_fault_settings_are_refused(simulator: RunningSimulator) -> None:
    for body in (
        {"fail_nxt": 1},
        {"fail_rate": 2},
        {"fail_next": -1},
        {"fail_status": 200},
        {"remove_clients": "abc"},
    ):
        answer = requests.post(f"{simulator.base_url}/_sim/faults", json=body, timeout=TIMEOUT)
        assert answer.status_code == 400, body
        assert answer.json()["error"]


def test_injected_faults_are_counted(simulator: RunningSimulator, agency: Account) -> None:
    simulator.faults(fail_next=1, throttle_next=1, truncate_next=1)
    for _ in range(3):
        _stats(simulator, agency)
    stats = simulator.stats()
    assert stats["faults_injected"] == 3
    assert stats["faults"] == {"fail": 1, "throttle": 1, "truncate": 1}
    assert stats["statistics_calls"] == 3 and stats["statistics_ok"] == 1
