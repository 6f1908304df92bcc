"""Which days a weekly or monthly report covers, and what it is compared with."""

from __future__ import annotations

from datetime import date

import pytest

from services.report_periods import ReportPeriod, last_complete_period


@pytest.mark.parametrize(
    "today", [date(2026, 12, 7), date(2026, 12, 9), date(2026, 12, 13)], ids=["mon", "wed", "sun"]
)
def test_a_weekly_report_covers_the_last_complete_monday_to_sunday(today: date) -> None:
    period = last_complete_period("weekly", today)

    assert (period.start, period.end) == (date(2026, 11, 30), date(2026, 12, 6))
    assert period.key == "2026-W49"


def test_a_weekly_report_is_compared_with_the_week_before() -> None:
    period = ReportPeriod("weekly", date(2026, 11, 30), date(2026, 12, 6))

    assert period.previous == (date(2026, 11, 23), date(2026, 11, 29))


def test_a_monthly_report_covers_the_last_complete_calendar_month() -> None:
    period = last_complete_period("monthly", date(2026, 12, 1))

    assert (period.start, period.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period.key == "2026-11"


def test_a_monthly_report_is_compared_with_as_many_days_just_before_it() -> None:
    march = last_complete_period("monthly", date(2026, 4, 15))

    assert (march.start, march.end) == (date(2026, 3, 1), date(2026, 3, 31))
    # 31 days of March against the 31 days before: February's 28 and three of January.
    assert march.previous == (date(2026, 1, 29), date(2026, 2, 28))


def test_january_reports_december_of_the_year_before() -> None:
    period = last_complete_period("monthly", date(2027, 1, 1))

    assert (period.start, period.end, period.key) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
        "2026-12",
    )


def test_an_unknown_kind_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="weekly, monthly"):
        last_complete_period("daily", date(2026, 12, 7))  # type: ignore[arg-type]
