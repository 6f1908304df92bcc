"""The statistics' freshness policy, read off the daily schedule: each scheduled run must have
loaded by a deadline a few hours after the schedule's start."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from settings.defaults import REPORTING_TIMEZONE

RUN_ALLOWANCE = timedelta(hours=3)
"""How long after the schedule's start its run may take before the statistics count as late: a
run of a few hundred customers takes well under an hour, and a one-minute rate-limit block or a
retried agency account adds minutes, not hours."""

_DAY = timedelta(days=1)


def statistics_freshness_policy(
    schedule_cron: str, *, tz: str = REPORTING_TIMEZONE
) -> dg.FreshnessPolicy:
    """The freshness policy of ``ad_daily_stats`` for the schedule ``schedule_cron`` in ``tz``.

    A schedule at a fixed time of every day (``M H * * *``, the default ``0 6 * * *``) gets a
    cron policy: by ``RUN_ALLOWANCE`` after each start, the statistics must have been loaded
    within the day before (fresh → ``PASS``; the run failed or never came → ``FAIL``, until the
    next load). Any other schedule (every hour, weekdays only, every minute in tests) gets a
    time-window policy: loaded within a day plus the allowance.
    """
    deadline = _daily_deadline(schedule_cron)
    if deadline is None:
        return dg.FreshnessPolicy.time_window(fail_window=_DAY + RUN_ALLOWANCE)
    return dg.FreshnessPolicy.cron(deadline_cron=deadline, lower_bound_delta=_DAY, timezone=tz)


def _daily_deadline(schedule_cron: str) -> str | None:
    """``M H * * *`` moved ``RUN_ALLOWANCE`` later (across midnight if need be); ``None`` for a
    cron that is not one fixed time of every day."""
    fields = schedule_cron.split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
        return None
    minute, hour = fields[0], fields[1]
    if not (minute.isdigit() and hour.isdigit()):
        return None
    start = timedelta(hours=int(hour), minutes=int(minute))
    deadline_minutes = int(((start + RUN_ALLOWANCE) % _DAY).total_seconds()) // 60
    return f"{deadline_minutes % 60} {deadline_minutes // 60} * * *"
