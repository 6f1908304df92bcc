"""Daily partitions in Allegro's reporting time zone; the newest partition is yesterday."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from allegro_resource.windows import oldest_served_day, reporting_today
from settings.defaults import REPORTING_TIMEZONE


def daily_partitions(
    history_days: int, today: date | None = None, *, tz: str = REPORTING_TIMEZONE
) -> dg.DailyPartitionsDefinition:
    """Days the statistics API still serves: from two years back to yesterday, as calendar days
    of the reporting time zone ``tz``.

    The start moves with the calendar on purpose: a partition Allegro no longer serves could
    never be materialised again, so the UI should not offer it.
    """
    first_day = oldest_served_day(today or reporting_today(tz=tz), history_days)
    # end_offset=0: a day's partition exists once the day is over, so the newest is yesterday.
    return dg.DailyPartitionsDefinition(start_date=first_day.isoformat(), timezone=tz, end_offset=0)


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags that make one run cover a whole partition range (a single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }


def lookback_range(
    lookback_days: int, today: date | None = None, *, tz: str = REPORTING_TIMEZONE
) -> tuple[date, date]:
    """[yesterday - lookback + 1, yesterday]: the days Allegro may still revise (``today`` by
    default: today in ``tz``)."""
    yesterday = (today or reporting_today(tz=tz)) - timedelta(days=1)
    return yesterday - timedelta(days=lookback_days - 1), yesterday
