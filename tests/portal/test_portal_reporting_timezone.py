"""The report's default "To" day and the live mode's refusal of "today" follow the reporting
time zone the portal is configured with (``ALLEGRO_ADS_REPORTING_TIMEZONE``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from authorize_app.portal.report_filters import ReportFilters, live_range_problem, yesterday
from settings import defaults
from testing.frozen_now import freeze_reporting_now

# 03:00 UTC on 30 March: already the 30th in Warsaw (05:00), still the 29th in New York (23:00).
INSTANT = datetime(2026, 3, 30, 3, 0, tzinfo=UTC)
NEW_YORK = "America/New_York"


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_reporting_now(monkeypatch, INSTANT)


def test_the_reports_default_end_is_yesterday_in_the_configured_zone() -> None:
    assert yesterday(NEW_YORK) == date(2026, 3, 28)
    assert yesterday(defaults.REPORTING_TIMEZONE) == date(2026, 3, 29)


def test_a_live_pull_of_the_configured_zones_today_is_refused() -> None:
    new_york_today = date(2026, 3, 29)  # Warsaw's yesterday
    filters = ReportFilters(new_york_today, new_york_today, [], [], "campaign")

    problem = live_range_problem(filters, defaults.HISTORY_DAYS, NEW_YORK)

    assert problem is not None and "only up to yesterday (2026-03-28)" in problem
    assert live_range_problem(filters, defaults.HISTORY_DAYS, defaults.REPORTING_TIMEZONE) is None
