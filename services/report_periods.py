"""The periods of the scheduled report e-mails: the last complete week (Monday to Sunday) or
calendar month before a day, and the period of equal length just before it, to compare with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import get_args

from control_store.report_sends import ReportKind

REPORT_KINDS: tuple[str, ...] = get_args(ReportKind)


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """The days ``start..end`` (inclusive) of a weekly or monthly report."""

    kind: ReportKind
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The same number of days immediately before (a month is compared with the 28 to 31
        days before it, so both sides cover equally many days)."""
        end = self.start - timedelta(days=1)
        return end - timedelta(days=self.days - 1), end

    @property
    def key(self) -> str:
        """How a send of this period is recorded: ``2026-W49`` or ``2026-11``."""
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        """``week 2026-W49`` or ``month 2026-11``, for subjects."""
        return f"{'week' if self.kind == 'weekly' else 'month'} {self.key}"


def last_complete_period(kind: ReportKind, today: date) -> ReportPeriod:
    """The last week (Monday..Sunday) or calendar month that ended before ``today``."""
    if kind == "weekly":
        this_monday = today - timedelta(days=today.weekday())
        return ReportPeriod(kind, this_monday - timedelta(days=7), this_monday - timedelta(days=1))
    if kind == "monthly":
        end = today.replace(day=1) - timedelta(days=1)
        return ReportPeriod(kind, end.replace(day=1), end)
    raise ValueError(f"unknown report kind {kind!r}; use one of {', '.join(REPORT_KINDS)}")
