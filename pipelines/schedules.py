"""The daily run: the agency clients, then one statistics run over the lookback window (Allegro
revises recent days), then the offers behind the ads, all in one run."""

from __future__ import annotations

import dagster as dg

from pipelines.partitions import REPORTING_TIMEZONE, lookback_range, range_tags


def build_daily_schedule(job_name: str, cron: str, lookback_days: int) -> dg.ScheduleDefinition:
    """A schedule launching ONE run of ``job_name`` for [yesterday - lookback + 1, yesterday]."""

    @dg.schedule(
        name="daily_ad_stats",
        cron_schedule=cron,
        execution_timezone=REPORTING_TIMEZONE,
        job_name=job_name,
        description=(
            "Every day, in one run: list the agency accounts' clients, re-fetch the last "
            f"{lookback_days} days for every linked customer (Allegro revises recent days' "
            "attributed sales), refresh the offers behind the ads."
        ),
    )
    def daily_ad_stats(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time
        today = scheduled.date() if scheduled else None
        start, end = lookback_range(lookback_days, today)
        return dg.RunRequest(run_key=f"daily-{end.isoformat()}", tags=range_tags(start, end))

    return daily_ad_stats
