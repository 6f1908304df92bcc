"""Checking the REST API's query parameters as Allegro does: every broken rule is reported
at once, as 422 in Allegro's error shape naming the parameter."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from simulator.entities import AD_TYPES
from simulator.responses import api_errors, error_entry
from simulator.state import SimulatorConfig

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def statistics_query(
    args: MultiDict[str, str], config: SimulatorConfig, today: date
) -> Response | tuple[date, date, tuple[str, ...]]:
    """The statistics query as (start, end, types), or a 422 naming every broken rule."""
    errors: list[dict[str, Any]] = []
    start = _parse_day(args, "statistics.gte", errors)
    end = _parse_day(args, "statistics.lte", errors)
    floor = today - timedelta(days=config.history_days)
    if start and start < floor:
        errors.append(
            error_entry(
                "VALIDATION_ERROR",
                f"statistics.gte must not be older than {floor} ({config.history_days} days back)",
                "statistics.gte",
            )
        )
    if end and end >= today:
        errors.append(
            error_entry(
                "VALIDATION_ERROR",
                "statistics.lte must not be later than yesterday "
                f"({today - timedelta(days=1)}): today's data is never served",
                "statistics.lte",
            )
        )
    if start and end and start > end:
        errors.append(
            error_entry(
                "VALIDATION_ERROR",
                "statistics.gte must not be after statistics.lte",
                "statistics.gte",
            )
        )
    elif start and end and (end - start).days + 1 > config.max_range_days:
        errors.append(
            error_entry(
                "VALIDATION_ERROR",
                f"The date range spans {(end - start).days + 1} days; at most "
                f"{config.max_range_days} days per request",
                "statistics.lte",
            )
        )
    # ``types`` comes repeated (types=A&types=B) or comma-joined (types=A,B): both are taken.
    requested = [t.strip() for v in args.getlist("types") for t in v.split(",") if t.strip()]
    unknown = [t for t in requested if t not in AD_TYPES]
    if unknown:
        errors.append(
            error_entry(
                "VALIDATION_ERROR",
                f"Unknown types {unknown}; allowed: {list(AD_TYPES)}",
                "types",
            )
        )
    if errors or start is None or end is None:
        return api_errors(422, errors)
    return start, end, tuple(dict.fromkeys(requested)) or AD_TYPES


def _parse_day(args: MultiDict[str, str], name: str, errors: list[dict[str, Any]]) -> date | None:
    raw = args.get(name)
    if not raw:
        errors.append(error_entry("VALIDATION_ERROR", f"{name} is required (yyyy-MM-dd)", name))
        return None
    try:
        if not _ISO_DAY.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(
            error_entry("VALIDATION_ERROR", f"{name} is not a date yyyy-MM-dd: {raw!r}", name)
        )
        return None


def paging(args: MultiDict[str, str]) -> Response | tuple[int, int]:
    """``limit`` (1-1000, default 20) and ``offset`` (>= 0), or a 422 naming the bad one."""
    errors = []
    values = {}
    for name, default, low, high in (("limit", 20, 1, 1000), ("offset", 0, 0, None)):
        raw = args.get(name)
        try:
            value = default if raw is None else int(raw)
            if value < low or (high is not None and value > high):
                raise ValueError(raw)
            values[name] = value
        except ValueError:
            bounds = f"{low}-{high}" if high else f">= {low}"
            errors.append(
                error_entry(
                    "VALIDATION_ERROR", f"{name} must be an integer {bounds}: {raw!r}", name
                )
            )
    if errors:
        return api_errors(422, errors)
    return values["limit"], values["offset"]
