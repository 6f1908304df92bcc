"""The simulator counts the token endpoint's error answers by OAuth error code, so a load test
can assert that no refresh was refused (``invalid_grant``) without reading any log."""

from __future__ import annotations

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import Account, exchange, refresh, token_request


def test_a_fresh_simulator_reports_zero_invalid_grant_and_no_token_errors(
    simulator: RunningSimulator,
) -> None:
    stats = simulator.stats()
    assert stats["invalid_grant"] == 0
    assert stats["token_errors"] == {}


def test_a_reuse_within_the_grace_is_no_token_error(
    simulator: RunningSimulator, seller: Account
) -> None:
    for _ in range(2):
        assert refresh(simulator.base_url, seller.tokens["refresh_token"]).status_code == 200

    stats = simulator.stats()
    assert stats["token_errors"] == {} and stats["refreshes_ok"] == 2
    assert stats["refreshes_in_grace"] == 1


def test_a_reused_refresh_token_is_counted_as_one_invalid_grant(
    simulator: RunningSimulator, seller: Account
) -> None:
    assert refresh(simulator.base_url, seller.tokens["refresh_token"]).status_code == 200
    simulator.advance(60)  # past the used token's grace
    assert refresh(simulator.base_url, seller.tokens["refresh_token"]).status_code == 400

    stats = simulator.stats()
    assert stats["invalid_grant"] == 1
    assert stats["token_errors"] == {"invalid_grant": 1}
    assert (stats["refreshes_ok"], stats["refreshes_failed"]) == (1, 1)


def test_an_unknown_code_also_counts_as_invalid_grant_and_bad_client_as_invalid_client(
    simulator: RunningSimulator,
) -> None:
    exchange(simulator.base_url, "no-such-code")
    token_request(simulator.base_url, {"grant_type": "refresh_token"}, auth=("x", "y"))

    stats = simulator.stats()
    assert stats["token_errors"] == {"invalid_grant": 1, "invalid_client": 1}
    assert stats["invalid_grant"] == 1


def test_successful_refreshes_count_no_token_error(
    simulator: RunningSimulator, seller: Account
) -> None:
    answer = refresh(simulator.base_url, seller.tokens["refresh_token"])
    refresh(simulator.base_url, answer.json()["refresh_token"])

    stats = simulator.stats()
    assert stats["refreshes_ok"] == 2
    assert stats["token_errors"] == {} and stats["invalid_grant"] == 0
