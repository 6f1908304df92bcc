"""The API log: calls to Allegro, filtered by customer, status and day, newest first, paged.
Viewers see only the calls of their customers (never the agency-wide ones)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from werkzeug.wrappers import Response

from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import bad_request, optional_date, positive_int
from control_store.schema import api_calls, customers

PAGE_SIZE = 50
STATUS_CHOICES = {
    "": "any status",
    "ok": "2xx (success)",
    "failed": "failed (4xx, 5xx or no answer)",
    "4xx": "4xx",
    "429": "429 (rate limited)",
    "5xx": "5xx",
    "none": "no answer",
}


@dataclass(frozen=True, slots=True)
class LogFilters:
    customer: str
    status: str
    start: date | None
    end: date | None
    page: int

    def query(self, **changes: Any) -> dict[str, Any]:
        """These filters as query parameters (empty ones left out), with ``changes``."""
        values = {
            "customer": self.customer,
            "status": self.status,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "page": self.page,
        } | changes
        return {key: value for key, value in values.items() if value not in ("", None, 1)}


def api_log(ctx: Ctx) -> Response:
    """GET /api-log."""
    filters = _filters(ctx)
    stmt = _query(ctx, filters)
    with ctx.control.engine.connect() as conn:
        rows = list(conn.execute(stmt).mappings())
    has_next = len(rows) > PAGE_SIZE
    return ctx.render(
        "api_log.html",
        active="api_log",
        filters=filters,
        rows=rows[:PAGE_SIZE],
        has_next=has_next,
        statuses=STATUS_CHOICES,
        customers=ctx.scope.customers,
    )


def _filters(ctx: Ctx) -> LogFilters:
    args = ctx.request.args
    customer = args.get("customer", "")
    if customer:
        ctx.scope.require(customer)
    status = args.get("status", "")
    if status not in STATUS_CHOICES and not _is_status_code(status):
        raise bad_request(
            "Status must be a code such as 404, or one of: " + ", ".join(sorted(STATUS_CHOICES)[1:])
        )
    start = optional_date(args, "from", "From")
    end = optional_date(args, "to", "To")
    if start and end and start > end:
        raise bad_request(f"From ({start}) is after To ({end}); swap the dates.")
    return LogFilters(customer, status, start, end, positive_int(args, "page", "Page", 1))


def _is_status_code(value: str) -> bool:
    return len(value) == 3 and value.isascii() and value.isdigit() and 100 <= int(value) <= 599


def _query(ctx: Ctx, filters: LogFilters) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    if filters.customer:
        conditions.append(api_calls.c.customer_id == filters.customer)
    elif not ctx.scope.is_admin:
        ids = ctx.scope.customer_ids()
        conditions.append(api_calls.c.customer_id.in_(ids) if ids else false())
    if filters.status:
        conditions.append(_status_condition(filters.status))
    if filters.start:
        conditions.append(api_calls.c.ts >= _midnight(filters.start))
    if filters.end:
        conditions.append(api_calls.c.ts < _midnight(filters.end + timedelta(days=1)))
    return (
        select(api_calls, customers.c.name.label("customer_name"))
        .outerjoin(customers, customers.c.id == api_calls.c.customer_id)
        .where(*conditions)
        .order_by(api_calls.c.ts.desc(), api_calls.c.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((filters.page - 1) * PAGE_SIZE)
    )


def _status_condition(status: str) -> ColumnElement[bool]:
    code = api_calls.c.status
    ranges = {"ok": (200, 299), "4xx": (400, 499), "5xx": (500, 599)}
    if status in ranges:
        low, high = ranges[status]
        return code.between(low, high)
    if status == "failed":
        return or_(code.is_(None), code >= 400)
    if status == "none":
        return code.is_(None)
    return code == int(status)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
