"""The report schedules: once a week on Monday and once a month on the 1st, each tick one run
for the period just ended, keyed by that period so a repeated tick launches nothing new."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from allegro_resource.windows import reporting_zone
from pipelines.definitions import build_definitions
from pipelines.report_jobs import REPORTS_JOB, SEND_OP


def _tick(schedule_name: str, day: date) -> dg.RunRequest:
    definitions = build_definitions()
    schedule = definitions.resolve_schedule_def(schedule_name)
    assert schedule.job_name == REPORTS_JOB
    moment = datetime(day.year, day.month, day.day, 10, tzinfo=reporting_zone())
    result = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=moment))
    (request,) = result.run_requests or []
    return request


def test_the_monday_tick_sends_the_week_that_ended_on_sunday() -> None:
    request = _tick("weekly_customer_reports", date(2026, 12, 7))

    assert request.run_key == "weekly-report-2026-W49"
    assert request.run_config == {
        "ops": {SEND_OP: {"config": {"kind": "weekly", "day": "2026-12-07"}}}
    }


def test_the_tick_on_the_first_sends_the_month_before() -> None:
    request = _tick("monthly_customer_reports", date(2026, 12, 1))

    assert request.run_key == "monthly-report-2026-11"
    assert request.run_config == {
        "ops": {SEND_OP: {"config": {"kind": "monthly", "day": "2026-12-01"}}}
    }


def test_the_schedules_fire_after_the_daily_run_in_the_reporting_time_zone() -> None:
    definitions = build_definitions()
    weekly = definitions.resolve_schedule_def("weekly_customer_reports")
    monthly = definitions.resolve_schedule_def("monthly_customer_reports")

    assert (weekly.cron_schedule, weekly.execution_timezone) == ("0 10 * * 1", "Europe/Warsaw")
    assert (monthly.cron_schedule, monthly.execution_timezone) == ("0 10 1 * *", "Europe/Warsaw")
