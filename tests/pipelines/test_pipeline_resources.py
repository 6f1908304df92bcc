"""What a run's resources record: a token refreshed during a run is in the API log with the
run's id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from allegro_resource.models import TokenSet
from allegro_resource.oauth import TOKEN_PATH
from control_store.schema import api_calls
from services.control import open_control
from simulator.state import DEFAULT_SCOPE as SCOPE
from testing.pipeline_agency import Agency, days_back

RUN_DAYS = 7


def expire_access_tokens(agency: Agency) -> None:
    """Make every stored access token one obtained 12 hours ago and expired a minute ago, as a
    daily run finds them: the run must refresh each before its first call."""
    now = datetime.now(UTC)
    with open_control(agency.settings) as control:
        for customer in agency.customers:
            with control.tokens.locked(customer.customer_id) as locked:
                row = locked.current
                assert row is not None
                expired = TokenSet(
                    row.access_token, row.refresh_token, now - timedelta(minutes=1), SCOPE
                )
                locked.save_refreshed(expired, now - timedelta(hours=12))


def test_a_token_refreshed_during_a_run_is_in_the_api_log_with_the_runs_id(
    agency: Agency,
) -> None:
    expire_access_tokens(agency)
    start, end = days_back(RUN_DAYS)

    result = agency.run(start, end)

    assert result.success
    with open_control(agency.settings) as control, control.engine.connect() as conn:
        refreshes = conn.execute(
            select(api_calls.c.customer_id, api_calls.c.status).where(
                api_calls.c.endpoint == TOKEN_PATH, api_calls.c.run_id == result.run_id
            )
        ).all()
    assert sorted(refreshes) == sorted((c.customer_id, 200) for c in agency.customers)
