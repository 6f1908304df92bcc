"""The daily run: the agency clients, then one statistics run over the lookback window (Allegro
revises recent days), then the offers behind the ads, all in one run."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.partitions import lookback_range, range_tags
from settings.defaults import REPORTING_TIMEZONE


def build_daily_schedule(
    job_name: str, cron: str, lookback_days: int, *, tz: str = REPORTING_TIMEZONE
) -> dg.ScheduleDefinition:
    """A schedule launching ONE run of ``job_name`` for [yesterday - lookback + 1, yesterday];
    ``cron`` and the days are read in the reporting time zone ``tz``."""

    @dg.schedule(
        name="daily_ad_stats",
        cron_schedule=cron,
        execution_timezone=tz,
        job_name=job_name,
        description=(
            "Every day, in one run: list the agency accounts' clients, re-fetch the last "
            f"{lookback_days} days for every linked customer (Allegro revises recent days' "
            "attributed sales), refresh the offers behind the ads."
        ),
    )
    def daily_ad_stats(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time
        # Dagster hands the tick in ``tz``, so its date is the reporting day.
        today = scheduled.astimezone(ZoneInfo(tz)).date() if scheduled else None
        start, end = lookback_range(lookback_days, today, tz=tz)
        return dg.RunRequest(run_key=f"daily-{end.isoformat()}", tags=range_tags(start, end))

    return daily_ad_stats
