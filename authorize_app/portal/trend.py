"""The daily trend of a period with the previous period of the same length behind it, as an
SVG chart plus the exact figures the page's hover read-out shows (a JSON data block: the page
script reads it, nothing runs it)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from authorize_app.charts import small_multiples_svg
from authorize_app.portal.report_filters import ReportFilters
from warehouse.ratios import ratio

SERIES = ("Spend", "Clicks", "ROAS")
DATA_ID = "trend-data"


def day_values(records: Sequence[Mapping[str, Any]]) -> dict[date, dict[str, Decimal | None]]:
    """Each day's spend, clicks and ROAS from ``daily_trend`` rows."""
    values: dict[date, dict[str, Decimal | None]] = {}
    for record in records:
        cost = Decimal(record["cost"])
        value = Decimal(record["attributed_value"])
        values[record["day"]] = {
            "Spend": cost,
            "Clicks": Decimal(int(record["clicks"])),
            "ROAS": ratio(value, cost, 2),
        }
    return values


def comparison_chart(
    filters: ReportFilters,
    current: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]],
) -> Markup:
    """The chart and its data block; day N of the period is compared with day N of the previous
    period. A day without data is a gap, not a zero."""
    now, before = day_values(current), day_values(previous)
    length = filters.days
    days = [filters.start + timedelta(days=i) for i in range(length)]
    shift = timedelta(days=length)
    series: dict[str, list[tuple[date, float | None]]] = {name: [] for name in SERIES}
    behind: dict[str, list[tuple[date, float | None]]] = {name: [] for name in SERIES}
    readout: list[dict[str, Any]] = []
    for day in days:
        today, then = now.get(day, {}), before.get(day - shift, {})
        for name in SERIES:
            series[name].append((day, _float(today.get(name))))
            behind[name].append((day, _float(then.get(name))))
        readout.append(
            {
                "day": day.isoformat(),
                "previousDay": (day - shift).isoformat(),
                "values": {
                    name: [_text(today.get(name)), _text(then.get(name))] for name in SERIES
                },
            }
        )
    currencies = sorted({customer.currency for customer in filters.customers})
    money = currencies[0] if len(currencies) == 1 else ""
    title = f"Daily trend {filters.start} to {filters.end} (faint: previous period)"
    svg = small_multiples_svg(title, series, y_labels={"Spend": money}, previous=behind)
    data = json.dumps({"first": days[0].isoformat(), "days": readout}, separators=(",", ":"))
    # "<" never appears raw inside the data block, so no text can close the element early.
    safe = data.replace("<", "\\u003c")
    block = f'<script type="application/json" id="{DATA_ID}">{safe}'
    return Markup(svg + block + "</script>")  # noqa: S704 - charts.py escapes its text; JSON above


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
