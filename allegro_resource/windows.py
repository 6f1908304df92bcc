"""Date-range rules of the statistics API, checked before any call, and window splitting."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from allegro_resource.errors import DateRangeError
from settings.defaults import HISTORY_DAYS, REPORTING_TIMEZONE


def reporting_zone(tz: str = REPORTING_TIMEZONE) -> ZoneInfo:
    """The reporting time zone named ``tz`` (the setting ``ALLEGRO_ADS_REPORTING_TIMEZONE``)."""
    return ZoneInfo(tz)


def reporting_today(now: datetime | None = None, *, tz: str = REPORTING_TIMEZONE) -> date:
    """Today's date in Allegro's reporting time zone ``tz``; ``now`` (aware) defaults to now."""
    zone = reporting_zone(tz)
    return (now or datetime.now(zone)).astimezone(zone).date()


def oldest_served_day(today: date, history_days: int = HISTORY_DAYS) -> date:
    """The first day the API still serves (two years back by default)."""
    return today - timedelta(days=history_days)


def validate_range(
    start: date, end: date, *, today: date, history_days: int = HISTORY_DAYS
) -> None:
    """Raise ``DateRangeError`` unless [start, end] is a range the API serves."""
    if start > end:
        raise DateRangeError(f"the range starts ({start}) after it ends ({end}); swap the dates")
    yesterday = today - timedelta(days=1)
    if end > yesterday:
        raise DateRangeError(
            f"the range ends on {end}, but Allegro serves statistics only up to "
            f"yesterday ({yesterday}); today's data is never available"
        )
    floor = oldest_served_day(today, history_days)
    if start < floor:
        raise DateRangeError(
            f"the range starts on {start}, but Allegro serves statistics only from "
            f"{floor} ({history_days} days back); start on or after {floor}"
        )


def split_range(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """Split [start, end] (inclusive) into the fewest windows of at most ``max_days`` days."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    windows: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        window_end = min(end, cursor + timedelta(days=max_days - 1))
        windows.append((cursor, window_end))
        cursor = window_end + timedelta(days=1)
    return windows
