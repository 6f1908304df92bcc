"""Export of exactly what a report shows (same filters, same scope, same order) as CSV or
Parquet, in the format ``warehouse.report_export`` defines (the report e-mails attach the same)."""

from __future__ import annotations

import pyarrow as pa
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import choice
from authorize_app.portal.live_report import live_report
from authorize_app.portal.report_filters import live_range_problem, report_filters
from authorize_app.portal.report_model import Report
from authorize_app.portal.stored_report import stored_report
from warehouse.report_export import (
    CAMPAIGN_EXPORT_SCHEMA,
    campaign_export_table,
    csv_bytes,
    parquet_bytes,
    safe_filename,
)

FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def export_stored(ctx: Ctx) -> Response:
    """GET /reports/export?format=csv|parquet&<the report's filters>."""
    fmt = choice(ctx.request.args, "format", "Format", FORMATS)
    filters = report_filters(ctx, live=False)
    with ctx.services.warehouse.open() as warehouse:
        report = stored_report(warehouse, filters, ctx.services.report_cache)
    return download(report, fmt)


def export_live(ctx: Ctx) -> Response:
    """POST /reports/live/export (CSRF-checked form, the live page's fields): pulls again,
    exactly as the live page does."""
    fmt = choice(ctx.request.form, "format", "Format", FORMATS)
    filters = report_filters(ctx, live=True)
    settings = ctx.control.settings
    problem = live_range_problem(filters, settings.history_days, settings.reporting_timezone)
    if problem is not None:
        raise BadRequest(f"This range cannot be pulled live: {problem}.")
    assert ctx.user is not None
    report = live_report(ctx.control, filters, run_id=f"portal-export:{ctx.user.id}")
    return download(report, fmt)


def download(report: Report, fmt: str) -> Response:
    """The report's table as an attachment named after its mode and dates."""
    table = report_table(report)
    body = csv_bytes(table) if fmt == "csv" else parquet_bytes(table)
    name = safe_filename(f"campaigns_{report.mode}_{report.start}_{report.end}.{fmt}")
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    if fmt == "csv":
        response.content_type = FORMATS[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def report_table(report: Report) -> pa.Table:
    """Campaign rows in the report's order, then one row per customer that failed."""
    records: list[dict[str, object]] = [
        {name: getattr(row, name, None) for name in CAMPAIGN_EXPORT_SCHEMA.names}
        for row in report.rows
    ]
    records += [
        {"customer_id": e.customer_id, "customer_name": e.customer_name, "error": e.message}
        for e in report.errors
    ]
    return campaign_export_table(records)
