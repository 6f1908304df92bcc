"""Token refresh under load: 16 worker processes read statistics with the agency account's
token and seller data with 50 customers' sales tokens through a simulated day of 12-hour
tokens; Allegro (the simulator) must see exactly the refreshes that were necessary, never an
``invalid_grant``, and every call must succeed, although a refresh kills the previous access
token and some workers' clocks lag Allegro's (they get 401s and must re-read, not refresh).
Once on SQLite, once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from control_store.database import make_engine
from control_store.schema import oauth_tokens
from testing.refresh_load import (
    LoadPlan,
    minimum_refreshes,
    renewals_needed,
    run_refresh_load,
    usable_seconds,
)

TWELVE_HOURS = 43_199  # Allegro's expires_in; the simulator's default
MARGIN = 600  # ALLEGRO_ADS_REFRESH_MARGIN_SECONDS' default
# Asked every two hours: the refresh rounds (12 h and 24 h) are as contended as with a finer
# step, and the test stays near a minute per backend on a shared 2-core machine.
PLAN = LoadPlan(workers=16, customers=50, hours=24, step_seconds=2 * 3600)


def test_a_12_hour_token_asked_hourly_for_a_day_needs_two_refreshes() -> None:
    hourly = LoadPlan(customers=1, hours=24, step_seconds=3600)
    usable = usable_seconds(TWELVE_HOURS, MARGIN)

    assert usable == 42_599  # handed out while more than the margin is left
    assert renewals_needed(hourly.ask_times(), usable) == 2  # at 12 h and at 24 h


def test_the_minimum_for_the_agency_and_fifty_sales_accounts_over_a_day_is_51_times_two() -> None:
    minimum, arithmetic = minimum_refreshes(PLAN, TWELVE_HOURS, MARGIN)

    assert minimum == (1 + 50) * 2
    assert "51 accounts (1 agency + 50 sales) x 2 = 102" in arithmetic


def test_a_token_shorter_than_twice_the_margin_is_renewed_at_half_its_life() -> None:
    assert usable_seconds(600, 600) == 300  # the TokenManager's rule for short tokens
    every_minute = [60.0 * k for k in range(11)]
    assert renewals_needed(every_minute, 300) == 2  # at 5 and 10 minutes


def test_a_clock_lag_that_could_move_a_refresh_to_another_round_is_refused() -> None:
    with pytest.raises(ValueError, match="half a step"):
        LoadPlan(step_seconds=3600, lag_step_seconds=600)  # 1800 s behind: half the step


@pytest.mark.slow
def test_sixteen_processes_over_a_simulated_day_refresh_each_account_once_per_token_lifetime(
    control_store_url: str, simulator_factory: Callable[..., Any], tmp_path: Path
) -> None:
    simulator = simulator_factory(users=PLAN.customers)

    result = run_refresh_load(control_store_url, simulator.base_url, PLAN, tmp_path)

    assert result.access_ttl_seconds == TWELVE_HOURS
    assert result.errors == [] and result.api_failures == 0
    assert result.api_calls == result.api_calls_expected == 16 * 13 * (50 + 2 + 2)
    assert result.statistics_calls == result.offers_calls == 16 * 13 * 2
    assert result.minimum_refreshes == 102
    assert result.refreshes == result.minimum_refreshes  # Allegro's own count
    assert result.invalid_grant == 0 and result.refreshes_failed == 0
    assert result.refreshes_in_grace == 0  # no refresh token was ever used twice
    # Not vacuous: lagging workers did send tokens Allegro no longer accepted, and re-read.
    assert result.unauthorized > 0
    assert _token_versions(control_store_url) == {"agency": {1 + 2}, "sales": {1 + 2}}


def _token_versions(control_url: str) -> dict[str, set[int]]:
    """The distinct versions of the stored token rows by kind (each save bumps a row's version)."""
    engine = make_engine(control_url)
    try:
        with engine.connect() as conn:
            columns = (oauth_tokens.c.account_kind, oauth_tokens.c.version, oauth_tokens.c.status)
            rows = conn.execute(select(*columns)).all()
    finally:
        engine.dispose()
    assert {row.status for row in rows} == {"connected"} and len(rows) == 51
    versions: dict[str, set[int]] = {}
    for row in rows:
        versions.setdefault(row.account_kind, set()).add(row.version)
    return versions
