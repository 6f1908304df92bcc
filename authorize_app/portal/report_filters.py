"""The report's filters from the query string: dates, customers (through the scope: an id
outside it is a 404), and a whitelisted sort. Stored and live mode differ only in the range
rules; the export reads exactly the same filters as the page."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from allegro_resource.errors import DateRangeError
from allegro_resource.windows import reporting_today, validate_range
from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import bad_request, date_param, id_list
from authorize_app.portal.report_model import DEFAULT_SORT, SORT_CHOICES
from control_store.customers import Customer
from settings.defaults import REPORTING_TIMEZONE

STORED_DEFAULT_DAYS = 30
STORED_MAX_DAYS = 3 * 366
LIVE_DEFAULT_DAYS = 7
LIVE_MAX_DAYS = 14


@dataclass(frozen=True, slots=True)
class ReportFilters:
    start: date
    end: date
    customers: list[Customer]
    requested: list[str]  # as asked for; empty (and no portfolio) means every customer in scope
    sort: str
    page: int = 1  # of the campaign table; links and exports start from the whole report
    portfolios: list[str] = field(default_factory=list)  # whole portfolios asked for

    @property
    def picked(self) -> list[tuple[str, str]]:
        """The selection as query pairs (``customer=…``, ``portfolio=…``): what a link to
        another view carries so the selection survives navigation."""
        return [("portfolio", p) for p in self.portfolios] + [
            ("customer", c) for c in self.requested
        ]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def customer_ids(self) -> list[str]:
        return [customer.id for customer in self.customers]

    def query(self, **changes: Any) -> dict[str, Any]:
        """These filters as query parameters, with ``changes`` applied."""
        values: dict[str, Any] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "customer": self.requested,
            "portfolio": self.portfolios,
            "sort": self.sort,
        }
        return values | changes


def yesterday(tz: str = REPORTING_TIMEZONE) -> date:
    """The latest day Allegro reports on (in the reporting time zone ``tz``)."""
    return reporting_today(tz=tz) - timedelta(days=1)


def report_filters(
    ctx: Ctx,
    *,
    live: bool,
    sorts: Collection[str] = SORT_CHOICES,
    default_sort: str = DEFAULT_SORT,
) -> ReportFilters:
    """The filters of a report request (a POST's form for a live pull, else the query string);
    400 for malformed values, 404 for customers or portfolios outside the user's scope."""
    args = ctx.request.form if ctx.request.method == "POST" else ctx.request.args
    end = date_param(args, "to", "To", yesterday(ctx.control.settings.reporting_timezone))
    default_days = LIVE_DEFAULT_DAYS if live else STORED_DEFAULT_DAYS
    start = date_param(args, "from", "From", end - timedelta(days=default_days - 1))
    sort = args.get("sort", "") or default_sort
    if sort not in sorts:
        raise bad_request(
            "Sort must be one of: "
            + ", ".join(sorted(k for k in sorts if k[0] != "-"))
            + " (prefix with - for descending)."
        )
    page = _page_param(args.get("page", "1"))
    requested = id_list(args, "customer")
    portfolios = id_list(args, "portfolio")
    customers = ctx.scope.select(requested, portfolios)
    filters = ReportFilters(start, end, customers, requested, sort, page, portfolios)
    if not live:
        _check_stored_range(filters)
    return filters


def _page_param(text: str) -> int:
    """A campaign-table page number, 1 to 10,000."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 10_000:
        raise bad_request("Page must be a whole number from 1 to 10000.")
    return int(text)


def _check_stored_range(filters: ReportFilters) -> None:
    if filters.start > filters.end:
        raise bad_request(f"From ({filters.start}) is after To ({filters.end}); swap the dates.")
    if filters.days > STORED_MAX_DAYS:
        raise bad_request(
            f"The range covers {filters.days} days; choose at most {STORED_MAX_DAYS} days."
        )


def live_range_problem(
    filters: ReportFilters, history_days: int, tz: str = REPORTING_TIMEZONE
) -> str | None:
    """Why Allegro (or the live mode's own limit) would refuse the range (today taken in the
    reporting time zone ``tz``); None if it is fine."""
    try:
        validate_range(
            filters.start, filters.end, today=reporting_today(tz=tz), history_days=history_days
        )
    except DateRangeError as exc:
        return str(exc)
    if filters.days > LIVE_MAX_DAYS:
        return (
            f"the range covers {filters.days} days, but a live pull covers at most "
            f"{LIVE_MAX_DAYS}; shorten it, or use the stored report for longer ranges"
        )
    return None
