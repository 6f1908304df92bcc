"""Export of exactly what a report shows (same filters, same scope, same order) as CSV or
Parquet. Decimals stay exact; CSV text cells that a spreadsheet would run as a formula are
prefixed with an apostrophe."""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import choice
from authorize_app.portal.live_report import live_report
from authorize_app.portal.report_filters import live_range_problem, report_filters
from authorize_app.portal.report_model import Report
from authorize_app.portal.stored_report import stored_report

FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(18, 4)
SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("customer_name", pa.string()),
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("currency", pa.string()),
        ("views", pa.int64()),
        ("clicks", pa.int64()),
        ("ctr", RATIO),
        ("cost", MONEY),
        ("cpc", MONEY),
        ("attributed_count", pa.int64()),
        ("attributed_value", MONEY),
        ("roas", MONEY),
        ("error", pa.string()),
    ]
)
TEXT_COLUMNS = ("customer_id", "customer_name", "campaign_id", "campaign_name", "error")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


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
    buffer = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(_formula_safe(table), buffer)
    else:
        pq.write_table(table, buffer)
    name = safe_filename(f"campaigns_{report.mode}_{report.start}_{report.end}.{fmt}")
    response = Response(buffer.getvalue(), mimetype=FORMATS[fmt].split(";")[0])
    if fmt == "csv":
        response.content_type = FORMATS[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def report_table(report: Report) -> pa.Table:
    """Campaign rows in the report's order, then one row per customer that failed."""
    records: list[dict[str, object]] = [
        {name: getattr(row, name, None) for name in SCHEMA.names} for row in report.rows
    ]
    records += [
        {"customer_id": e.customer_id, "customer_name": e.customer_name, "error": e.message}
        for e in report.errors
    ]
    return pa.Table.from_pylist(records, schema=SCHEMA)


def safe_filename(name: str) -> str:
    """Letters, digits, dot, dash and underscore only; never empty, never hidden."""
    cleaned = _UNSAFE_FILENAME.sub("_", name).strip("._") or "export"
    return cleaned[:120]


def _formula_safe(table: pa.Table) -> pa.Table:
    for name in TEXT_COLUMNS:
        values = [_neutralise(value) for value in table.column(name).to_pylist()]
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.array(values, pa.string()))
    return table


def _neutralise(value: str | None) -> str | None:
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value
