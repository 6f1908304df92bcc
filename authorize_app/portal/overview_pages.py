"""The overview: KPI tiles of the period against the previous period of the same length, the
daily trend with the previous period behind it, and a sortable, paged table of the selected
customers (spend, sales value, ROAS, change, latest loaded day, both connections)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from werkzeug.wrappers import Response

from authorize_app.portal.comparison import Compared, kpis_per_currency
from authorize_app.portal.connection_state import ConnectionState, connection_state
from authorize_app.portal.context import Ctx
from authorize_app.portal.formatting import HELPERS
from authorize_app.portal.report_cache import CachedReads
from authorize_app.portal.report_filters import ReportFilters, report_filters
from authorize_app.portal.report_model import PeriodSums
from authorize_app.portal.statistics_links import token_infos
from authorize_app.portal.trend import comparison_chart
from authorize_app.portal.views import view_context
from authorize_app.web import render_fragment
from control_store.customers import Customer
from warehouse.comparison_queries import customer_comparison, previous_period
from warehouse.stats_queries import daily_trend

PAGE_SIZE = 50
NOT_LINKED = ConnectionState("not_connected", "Not linked", True, None)


@dataclass(frozen=True, slots=True)
class CustomerLine:
    """A customer's row of the overview table."""

    customer: Customer
    currency: str
    current: PeriodSums
    previous: PeriodSums
    latest_day: date | None
    agency: ConnectionState
    sales_account: ConnectionState

    @property
    def spend(self) -> Compared:
        return Compared(self.current.cost, self.previous.cost)

    @property
    def roas(self) -> Compared:
        return Compared(self.current.roas, self.previous.roas)


SORT_KEYS: dict[str, Callable[[CustomerLine], Any]] = {
    "customer": lambda line: line.customer.name.casefold(),
    "spend": lambda line: line.current.cost,
    "sales_value": lambda line: line.current.attributed_value,
    "roas": lambda line: line.current.roas,
    "change": lambda line: line.spend.change,
    "latest": lambda line: line.latest_day,
}
SORTS = frozenset({*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)})
DEFAULT_SORT = "-spend"
COLUMNS = (
    ("customer", "Customer"),
    ("spend", "Spend"),
    ("sales_value", "Sales value"),
    ("roas", "ROAS"),
    ("change", "Spend change"),
    ("latest", "Latest loaded day"),
)


def overview(ctx: Ctx) -> Response:
    """GET /overview?from=&to=&portfolio=…&customer=…&sort=&page=.

    The KPI tiles and the chart are rendered once per customers' load generations, dates and
    currencies, and served to every request for them until one of the customers is loaded
    again; the customers' table (with both connections' states, which change without a load)
    is rendered per request.
    """
    filters = report_filters(ctx, live=False, sorts=SORTS, default_sort=DEFAULT_SORT)
    records: list[dict[str, Any]] = []
    if not filters.customers:
        figures = _figures(None, filters, records)
    else:
        with ctx.services.warehouse.open() as warehouse:
            read = ctx.services.report_cache.reads(warehouse, filters.customer_ids)
            records = read.records(customer_comparison, filters.start, filters.end)
            figures = read.fragment(
                "overview", _figures_inputs(filters), lambda: _figures(read, filters, records)
            )
    lines = sort_lines(customer_lines(ctx, filters.customers, records), filters.sort)
    pages = max(1, -(-len(lines) // PAGE_SIZE))
    page = min(filters.page, pages)
    first = (page - 1) * PAGE_SIZE
    link = _link(ctx, filters)
    return ctx.render(
        "overview.html",
        status=200,
        active="overview",
        filters=filters,
        figures=figures,
        lines=lines[first : first + PAGE_SIZE],
        total=len(lines),
        pager={
            "first": first + 1,
            "last": min(first + PAGE_SIZE, len(lines)),
            "prev": link(page=page - 1) if page > 1 else None,
            "next": link(page=page + 1) if page < pages else None,
        },
        columns=COLUMNS,
        sort_url=_sort_url(link, filters.sort),
        **view_context(ctx, filters, "overview"),
        **HELPERS,
    )


def _figures_inputs(filters: ReportFilters) -> Hashable:
    """What the tiles and the chart show besides the warehouse's answers: the dates and each
    customer's currency (from the control store; a customer without data counts in its own)."""
    currencies = tuple((customer.id, customer.currency) for customer in filters.customers)
    return (filters.start, filters.end, currencies)


def _figures(
    read: CachedReads | None, filters: ReportFilters, records: Sequence[Mapping[str, Any]]
) -> Markup:
    """The KPI tiles per currency against the previous period, and the daily trend chart with
    the previous period behind it (empty without ``read``: no customer selected)."""
    prev_start, prev_end = previous_period(filters.start, filters.end)
    days: list[dict[str, Any]] = []
    if read is not None:
        days = read.records(daily_trend, prev_start, filters.end)  # both periods
    trend = [day for day in days if day["day"] >= filters.start]
    before = [day for day in days if day["day"] <= prev_end]
    by_id = {str(record["customer_id"]): record for record in records}
    kpis = kpis_per_currency(
        _period_sums(customer, by_id.get(customer.id)) for customer in filters.customers
    )
    return render_fragment(
        "portal/_overview_figures.html",
        previous=(prev_start, prev_end),
        kpis=kpis,
        chart=comparison_chart(filters, trend, before),
        **HELPERS,
    )


def _period_sums(
    customer: Customer, record: Mapping[str, Any] | None
) -> tuple[str, PeriodSums, PeriodSums]:
    """A customer's currency and sums now and before (zero without data)."""
    if record is None:
        return customer.currency, PeriodSums(), PeriodSums()
    currency = str(record.get("currency") or customer.currency)
    return currency, PeriodSums.of(record), PeriodSums.of(record, "prev_")


def customer_lines(
    ctx: Ctx, customers: Sequence[Customer], records: Sequence[Mapping[str, Any]]
) -> list[CustomerLine]:
    """A line per customer from the comparison query's rows, with both connections' states."""
    infos = token_infos(ctx.control)
    now = datetime.now(UTC)
    expiring = ctx.control.settings.expiring_days
    by_id = {str(record["customer_id"]): record for record in records}
    lines = []
    for customer in customers:
        record = by_id.get(customer.id)
        agency = (
            connection_state(infos.get(customer.agency_account_id), now, expiring)
            if customer.agency_account_id
            else NOT_LINKED
        )
        currency, current, previous = _period_sums(customer, record)
        lines.append(
            CustomerLine(
                customer=customer,
                currency=currency,
                current=current,
                previous=previous,
                latest_day=record["latest_day"] if record else None,
                agency=agency,
                sales_account=connection_state(infos.get(customer.id), now, expiring),
            )
        )
    return lines


def sort_lines(lines: Sequence[CustomerLine], sort: str) -> list[CustomerLine]:
    """Lines by a whitelisted key (``-key``: descending); lines without a value go last."""
    key = SORT_KEYS[sort.removeprefix("-")]
    base = sorted(lines, key=lambda line: (line.customer.name.casefold(), line.customer.id))
    present = [line for line in base if key(line) is not None]
    missing = [line for line in base if key(line) is None]
    present.sort(key=key, reverse=sort.startswith("-"))
    return present + missing


Link = Callable[..., str]


def _link(ctx: Ctx, filters: ReportFilters) -> Link:
    path = ctx.url("overview")
    picked = urlencode(filters.picked)

    def link(**changes: Any) -> str:
        values = {
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "sort": filters.sort,
        } | changes
        query = urlencode(values)
        return f"{path}?{query}&{picked}" if picked else f"{path}?{query}"

    return link


def _sort_url(link: Link, current: str) -> Callable[[str], str]:
    def url(key: str) -> str:
        if current == key:
            return link(sort=f"-{key}")
        if current == f"-{key}":
            return link(sort=key)
        return link(sort=key if key == "customer" else f"-{key}")

    return url
