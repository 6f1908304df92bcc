"""A run killed with SIGKILL in the middle of a warehouse load leaves every customer's slice
whole or absent, and one re-run of the same days restores every healthy customer exactly.

The kill comes from outside while the run holds the warehouse's write lock (DuckDB's lock file,
PostgreSQL's per-customer advisory lock), with the simulator's faults on (see conftest.py).
"""

from __future__ import annotations

import pytest

from testing.chaos_scenario import ChaosOutcome, ChaosOutcomes
from testing.pipeline_agency import BACKENDS

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", BACKENDS)]


@pytest.fixture
def outcome(chaos_outcomes: ChaosOutcomes, backend: str) -> ChaosOutcome:
    return chaos_outcomes(backend)


def test_a_load_killed_mid_transaction_leaves_each_customer_all_or_none_of_its_days(
    outcome: ChaosOutcome,
) -> None:
    killed = outcome.kill.load
    assert killed >= 2
    days = outcome.days_loaded_after_kill
    assert set(days.values()) <= {0, outcome.days}, f"a slice was half written: {days}"
    assert outcome.rows_after_kill == outcome.logged_rows_after_kill, (
        "load_log must describe exactly the facts that are there"
    )
    whole = [customer for customer, count in days.items() if count == outcome.days]
    assert killed - 1 <= len(whole) <= killed, "earlier loads committed; the killed one all or not"


def test_the_killed_run_never_finished_and_is_recorded_failed(outcome: ChaosOutcome) -> None:
    assert outcome.killed_run_status == ("STARTED", "FAILURE")
    assert outcome.rerun.run_id != outcome.killed_run_id


def test_one_rerun_of_the_same_days_restores_every_healthy_customer_exactly(
    outcome: ChaosOutcome,
) -> None:
    assert outcome.rerun.success
    assert outcome.mismatched == []
    assert outcome.duplicates == 0
    assert outcome.missing_days == {}
