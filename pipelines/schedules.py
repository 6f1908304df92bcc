"""The daily run: one run over the lookback window, because Allegro revises recent days."""

from __future__ import annotations

import dagster as dg

from pipelines.partitions import REPORTING_TIMEZONE, lookback_range, range_tags


def build_daily_schedule(job_name: str, cron: str, lookback_days: int) -> dg.ScheduleDefinition:
    """A schedule launching ONE run for [yesterday - lookback + 1, yesterday]."""

    @dg.schedule(
        name="daily_ad_stats",
        cron_schedule=cron,
        execution_timezone=REPORTING_TIMEZONE,
        job_name=job_name,
        description=(
            f"Every day: re-fetch the last {lookback_days} days for every connected customer "
            "in one run (Allegro revises recent days' attributed sales)."
        ),
    )
    def daily_ad_stats(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time
        today = scheduled.date() if scheduled else None
        start, end = lookback_range(lookback_days, today)
        return dg.RunRequest(run_key=f"daily-{end.isoformat()}", tags=range_tags(start, end))

    return daily_ad_stats
