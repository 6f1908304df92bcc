"""The report pages: stored (warehouse) and live (Allegro now), with totals, a sortable
campaign table, the daily trend chart, data freshness and export links."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from werkzeug.wrappers import Response

from authorize_app.charts import small_multiples_svg
from authorize_app.portal.context import Ctx
from authorize_app.portal.formatting import HELPERS, campaign_cells
from authorize_app.portal.live_report import live_report
from authorize_app.portal.report_filters import (
    LIVE_MAX_DAYS,
    ReportFilters,
    live_range_problem,
    report_filters,
)
from authorize_app.portal.report_model import OfferRow, Report
from authorize_app.portal.stored_report import report_of
from authorize_app.portal.views import selection_query, view_context
from authorize_app.web import render_fragment

TEXT_SORTS = ("customer", "campaign")
# Campaign rows per page: a 50-customer report has hundreds, and rendering them all made the
# page the slowest part of a report (exports always carry every row).
PAGE_SIZE = 100
COLUMNS = (
    ("customer", "Customer"),
    ("campaign", "Campaign"),
    ("views", "Views"),
    ("clicks", "Clicks"),
    ("ctr", "CTR"),
    ("cost", "Cost"),
    ("cpc", "CPC"),
    ("sales", "Sales"),
    ("sales_value", "Sales value"),
    ("roas", "ROAS"),
)


def reports(ctx: Ctx) -> Response:
    """GET /reports?from=&to=&customer=…&sort=: the stored report.

    Its figures (every table and the chart) are rendered once per customers' load generations
    and filters, and that HTML is served to every request for the same report until one of
    its customers is loaded again: rendering them was most of a request's CPU. The page
    around them (the user, the CSRF token, the picker of the user's scope) is rendered anew.
    """
    filters = report_filters(ctx, live=False)
    with ctx.services.warehouse.open() as warehouse:
        read = ctx.services.report_cache.reads(warehouse, filters.customer_ids)
        figures = read.fragment(
            "reports",
            _figures_inputs(ctx, filters),
            lambda: _figures(ctx, "reports", report_of(read, filters), filters),
        )
    shell = Report("stored", filters.start, filters.end, filters.customers)
    return _page(ctx, "reports", shell, filters, figures)


def _figures_inputs(ctx: Ctx, filters: ReportFilters) -> Hashable:
    """What a stored report's figures show besides the warehouse's answers: the dates, sort,
    page (and rows per page) and selection (its links carry them, under the portal's mount
    point) and each customer's name and currency (from the control store, changed without a
    load)."""
    return (
        ctx.request.script_root,
        PAGE_SIZE,
        filters.start,
        filters.end,
        filters.sort,
        filters.page,
        tuple(filters.picked),
        tuple((c.id, c.name, c.currency) for c in filters.customers),
    )


def reports_live_form(ctx: Ctx) -> Response:
    """GET /reports/live?…: the live form with these filters; nothing is pulled (a link, even
    a cross-site one, must never start calls to Allegro)."""
    filters = report_filters(ctx, live=True)
    empty = Report("live", filters.start, filters.end, filters.customers)
    return _render(ctx, "reports_live", empty, filters)


def reports_live(ctx: Ctx) -> Response:
    """POST /reports/live (CSRF-checked form): pulled from Allegro now; a refused range says
    why and pulls nothing."""
    filters = report_filters(ctx, live=True)
    settings = ctx.control.settings
    problem = live_range_problem(filters, settings.history_days, settings.reporting_timezone)
    if problem is not None:
        empty = Report("live", filters.start, filters.end, filters.customers)
        return _render(ctx, "reports_live", empty, filters, problem=problem, status=400)
    assert ctx.user is not None
    report = live_report(ctx.control, filters, run_id=f"portal-live:{ctx.user.id}")
    return _render(ctx, "reports_live", report, filters)


def _render(
    ctx: Ctx,
    endpoint: str,
    report: Report,
    filters: ReportFilters,
    *,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """A live report page (its figures rendered for this request: they carry the CSRF token)."""
    figures = _figures(ctx, endpoint, report, filters, problem=problem)
    return _page(ctx, endpoint, report, filters, figures, problem=problem, status=status)


def _page(
    ctx: Ctx,
    endpoint: str,
    report: Report,
    filters: ReportFilters,
    figures: Markup,
    *,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The page around a report's ``figures``: mode, picker or live form, the user's header."""
    return ctx.render(
        "report.html",
        status=status,
        active="reports",
        report=report,
        filters=filters,
        problem=problem,
        data_section=figures,
        stored_url=_report_links(ctx, filters)("reports"),
        # The selection only: the live mode's own default range (its limit is 14 days).
        live_url=f"{ctx.url('reports_live_form')}?{urlencode(filters.picked)}",
        live_max_days=LIVE_MAX_DAYS,
        **view_context(ctx, filters, "reports"),
    )


def _figures(
    ctx: Ctx,
    endpoint: str,
    report: Report,
    filters: ReportFilters,
    *,
    problem: str | None = None,
) -> Markup:
    """The report's totals, chart and tables. A stored report's are shared between requests
    (``reports``), so the CSRF token is passed for a live report's export form only."""
    live = report.mode == "live"
    export = "export_live" if live else "export"
    link = _report_links(ctx, filters)
    pages = max(1, -(-len(report.rows) // PAGE_SIZE))
    page = min(filters.page, pages)
    first = (page - 1) * PAGE_SIZE
    offer_depth = offers_depth(report.offers, PAGE_SIZE)
    session = {"csrf_token": ctx.csrf_token} if live else {}
    return render_fragment(
        "portal/_report_data.html",
        url=ctx.url,
        report=report,
        filters=filters,
        problem=problem,
        chart=trend_chart(report),
        columns=COLUMNS,
        page_rows=[campaign_cells(row) for row in report.rows[first : first + PAGE_SIZE]],
        pager={
            "first": first + 1,
            "last": min(first + PAGE_SIZE, len(report.rows)),
            "total": len(report.rows),
            "prev": link(endpoint, page=page - 1) if page > 1 else None,
            "next": link(endpoint, page=page + 1) if page < pages else None,
        },
        sort_url=_sort_url(link, endpoint, filters),
        export_url=lambda fmt: link(export, format=fmt),
        live_fields=[
            ("from", filters.start.isoformat()),
            ("to", filters.end.isoformat()),
            ("sort", filters.sort),
            *filters.picked,
        ],
        offers_shown=[offer for offer in report.offers if offer.rank <= offer_depth],
        offer_depth=offer_depth,
        graphic_shown=sorted(report.graphic_ads, key=lambda ad: -ad.cost)[:PAGE_SIZE],
        selection_query=selection_query(filters),
        **session,
        **HELPERS,
    )


def offers_depth(offers: Sequence[OfferRow], rows: int) -> int:
    """How many of each customer's top offers fit in ``rows`` rows (at least 1): a report of
    50 customers shows each one's top 2, a report of one its whole top list. Rendering every
    customer's ten made the offers the heaviest part of the page; the Offers page ranks the
    whole selection."""
    deepest = max((offer.rank for offer in offers), default=1)
    depth = deepest
    while depth > 1 and sum(1 for offer in offers if offer.rank <= depth) > rows:
        depth -= 1
    return depth


ReportLink = Callable[..., str]


def _report_links(ctx: Ctx, filters: ReportFilters) -> ReportLink:
    """``link(endpoint, **changes)``: a report URL with these filters and ``changes``.

    A page carries about twenty such links; the customer list, their long common part, is
    encoded once instead of once per link.
    """
    customers = urlencode(filters.picked)
    paths: dict[str, str] = {}

    def link(endpoint: str, **changes: Any) -> str:
        if endpoint not in paths:
            paths[endpoint] = ctx.url(endpoint)
        query = {
            k: v
            for k, v in filters.query(**changes).items()
            if k not in ("customer", "portfolio") and v is not None
        }
        return "&".join(
            part for part in (f"{paths[endpoint]}?{urlencode(query)}", customers) if part
        )

    return link


def _sort_url(link: ReportLink, endpoint: str, filters: ReportFilters) -> Callable[[str], str]:
    """A header's link: flips the direction of the current key, else its natural direction."""

    def url(key: str) -> str:
        if filters.sort == key:
            wanted = f"-{key}"
        elif filters.sort == f"-{key}":
            wanted = key
        else:
            wanted = key if key in TEXT_SORTS else f"-{key}"
        return link(endpoint, sort=wanted)

    return url


def trend_chart(report: Report) -> Markup:
    """Cost, clicks and ROAS per day, one panel each (their scales differ by orders); a day
    of the range without data is a gap, not a zero."""
    currencies = sorted({customer.currency for customer in report.customers})
    money = currencies[0] if len(currencies) == 1 else ""
    points = {point.day: point for point in report.days}
    days = [report.start + timedelta(days=i) for i in range((report.end - report.start).days + 1)]
    series: dict[str, list[tuple[date, float | None]]] = {"Cost": [], "Clicks": [], "ROAS": []}
    for day in days:
        point = points.get(day)
        roas = None if point is None or point.roas is None else float(point.roas)
        series["Cost"].append((day, None if point is None else float(point.cost)))
        series["Clicks"].append((day, None if point is None else float(point.clicks)))
        series["ROAS"].append((day, roas))
    title = f"Daily trend {report.start} to {report.end}"
    svg = small_multiples_svg(title, series, y_labels={"Cost": money})
    return Markup(svg)  # noqa: S704 - charts.py escapes every piece of text it emits
