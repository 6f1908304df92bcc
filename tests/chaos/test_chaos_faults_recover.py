"""With the simulator's faults on (20% 5xx, 429 storms with Retry-After, latency spikes of
seconds, a truncated answer, a client removed from the agency, the second agency account's
connection revoked mid-run) and the first run killed mid-load, one re-run leaves the warehouse
equal to Allegro's truth for every healthy customer, flags the broken ones with their reason and
fix, and loses no token.

All tests read one ``ChaosOutcome`` (DuckDB warehouse, SQLite control store); see conftest.py.
"""

from __future__ import annotations

import pytest

from allegro_resource.token_status import TokenStatus
from pipelines.checks import ALL_LOADED, NON_NEGATIVE, RATIOS_AGREE, SUMMARY_AGREES, UNIQUE_KEYS
from testing.chaos_scenario import ChaosOutcome, ChaosOutcomes

pytestmark = pytest.mark.slow


@pytest.fixture
def outcome(chaos_outcomes: ChaosOutcomes) -> ChaosOutcome:
    return chaos_outcomes("duckdb")


def test_every_healthy_customer_equals_the_simulators_truth_after_one_rerun(
    outcome: ChaosOutcome,
) -> None:
    assert outcome.rerun.success
    assert outcome.rows_checked > 0
    assert outcome.mismatched == []


def test_no_key_is_stored_twice_and_no_healthy_customer_lacks_a_day(outcome: ChaosOutcome) -> None:
    assert outcome.duplicates == 0
    assert outcome.missing_days == {}
    for check in (UNIQUE_KEYS, SUMMARY_AGREES, NON_NEGATIVE, RATIOS_AGREE):
        assert outcome.rerun.checks[check].passed, check


def test_the_customers_behind_the_agency_connection_revoked_mid_run_fail_with_reason_and_fix(
    outcome: ChaosOutcome,
) -> None:
    assert outcome.withdrawn_at_call is not None, "the agency's consent is withdrawn mid-run"
    token = outcome.tokens[outcome.revoked_agency_id]
    assert token.status == TokenStatus.NEEDS_REAUTH
    assert "invalid_grant" in (token.last_error or "")
    assert "Invalid refresh token: [redacted]" in (token.last_error or ""), "Allegro's answer"
    check = outcome.rerun.checks[ALL_LOADED]
    assert not check.passed
    for customer in outcome.cast.revoked:
        assert f"{customer.name} ({customer.customer_id}) not loaded" in check.description
        flagged = outcome.flagged[customer.customer_id]
        assert "agency account agency2 needs re-authorisation" in flagged
        assert outcome.tokens[customer.customer_id].status == TokenStatus.CONNECTED, (
            "the customers' own sales accounts are untouched"
        )
    fixes = check.description.count("allegro-ads agency connect agency2")
    assert fixes == len(outcome.cast.revoked)


def test_the_customer_removed_from_the_agency_is_named_by_the_failing_check_with_its_reason(
    outcome: ChaosOutcome,
) -> None:
    removed = outcome.cast.removed
    check = outcome.rerun.checks[ALL_LOADED]
    assert f"{removed.name} ({removed.customer_id}) not loaded" in check.description
    assert "accept the agency's request again" in check.description
    assert f"customers: [{removed.customer_id}]" in check.description, "a re-run config that exists"
    assert "access removed in Allegro Ads" in outcome.flagged[removed.customer_id]
    assert outcome.tokens[removed.customer_id].status == TokenStatus.CONNECTED, (
        "its consent is intact: only the agency link is gone"
    )


def test_only_the_broken_customers_fail_the_rerun(outcome: ChaosOutcome) -> None:
    broken = {c.customer_id for c in outcome.cast.revoked} | {outcome.cast.removed.customer_id}
    failed = set(str(outcome.rerun.metadata["failed_customers"]).split(", "))
    assert failed == broken
    assert outcome.rerun.metadata["customers_loaded"] == len(outcome.cast.healthy)


def test_every_kind_of_fault_was_injected_and_retried_through(outcome: ChaosOutcome) -> None:
    injected = outcome.simulator["faults"]
    for kind in ("fail", "throttle", "spike", "truncate", "removed_client"):
        assert injected.get(kind, 0) > 0, f"no {kind} fault was injected: {injected}"
    assert outcome.simulator["revocations"] == 1
    assert outcome.rerun.metadata["retries"] >= outcome.plan.storm, "each 429 is retried"


def test_every_healthy_customers_tokens_still_refresh_and_reach_allegro(
    outcome: ChaosOutcome,
) -> None:
    for customer in outcome.cast.healthy:
        assert outcome.tokens[customer.customer_id].status == TokenStatus.CONNECTED
        assert outcome.usable[customer.customer_id] == "ok"
