"""Server-rendered SVG line charts for the portal: no external assets; the page's own script
only adds a read-out of exact values on hover (the chart is complete without it).

The SVG uses presentation attributes only (no ``style`` attribute, no ``<style>`` element), so it
passes the portal's ``style-src 'self'`` CSP when inlined in a page. Every piece of text (title,
series names, labels) is escaped; a value of ``None`` (or NaN) leaves a gap in its line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from html import escape

Point = tuple[date, float | None]
SeriesMap = Mapping[str, Sequence[Point]]

# Distinct on white and for the common colour-vision deficiencies (Okabe-Ito, then extras).
PALETTE = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#000000",
    "#8c6d31",
    "#7f3c8d",
    "#3d7d3d",
)
CHART_ID = "trend-chart"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', sans-serif"
TEXT_COLOUR = "#1f2328"
MUTED_COLOUR = "#57606a"
GRID_COLOUR = "#e3e6ea"
AXIS_COLOUR = "#8c959f"
CHAR_WIDTH = 6.6  # rough width of one 11px character, for laying out margins
_DAY_STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 365, 730, 1461)


@dataclass(frozen=True, slots=True)
class _Box:
    """The plot area of one chart or panel, in SVG user units."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True, slots=True)
class _Scale:
    """Maps days and values of a domain onto a box."""

    box: _Box
    first: date
    last: date
    low: float
    high: float

    def x(self, day: date) -> float:
        span = (self.last - self.first).days
        if span <= 0:
            return self.box.left + self.box.width / 2
        return self.box.left + self.box.width * (day - self.first).days / span

    def y(self, value: float) -> float:
        return self.box.bottom - self.box.height * (value - self.low) / (self.high - self.low)


def small_multiples_svg(
    title: str,
    series: SeriesMap,
    *,
    y_labels: Mapping[str, str] | None = None,
    width: int = 720,
    panel_height: int = 110,
    element_id: str = CHART_ID,
    previous: SeriesMap | None = None,
) -> str:
    """One mini chart per series, stacked, each with its own y axis and the same days on x.

    For metrics of different scales (cost, clicks, ROAS); a series without values says "no data"
    in its panel. ``y_labels`` maps a series name to its unit label. ``previous`` holds the
    previous period's values of some series, placed on the days they are compared with, drawn
    as a faint dashed line behind the current one (it shares the panel's axis).
    """
    cleaned = {name: _clean(points) for name, points in series.items()}
    before = {name: _clean(points) for name, points in (previous or {}).items()}
    colours = _colours(cleaned)
    units = y_labels or {}
    top, panel_gap, bottom = 34.0, 24.0, 26.0
    height = int(top + max(len(cleaned), 1) * (panel_height + panel_gap) + bottom)
    parts = [_open_svg(title, width, height, element_id), _title_text(title)]
    if not _has_values(cleaned):
        parts.append(_no_data(_Box(16, top, width - 32, panel_height)))
        return "".join([*parts, "</svg>"])
    first, last = _day_domain(cleaned)
    axes = {
        name: _value_axis(_values({name: points, "previous": before.get(name, [])}))
        for name, points in cleaned.items()
    }
    labels = {name: [_tick_label(t, axis[2]) for t in axis[2]] for name, axis in axes.items()}
    widest = max((len(label) for values in labels.values() for label in values), default=1)
    has_units = any(units.get(name) for name in cleaned)
    left = 14.0 + widest * CHAR_WIDTH + (18.0 if has_units else 0.0)
    parts[0] = parts[0].replace(
        "<svg ",
        f'<svg data-plot-left="{left:.1f}" data-plot-width="{max(width - left - 18, 20):.1f}" ',
        1,
    )
    for index, (name, points) in enumerate(cleaned.items()):
        panel_top = top + index * (panel_height + panel_gap) + panel_gap - 6
        box = _Box(left, panel_top, max(width - left - 18, 20), panel_height)
        parts.append(f'<g class="panel" data-series="{_attr(name)}">')
        parts.append(_text(left, panel_top - 7, name, size=12, weight="600", colour=colours[name]))
        if not any(value is not None for _, value in points):
            parts.append(_no_data(box))
            parts.append("</g>")
            continue
        low, high, ticks = axes[name]
        scale = _Scale(box, first, last, low, high)
        parts.append(_y_axis(scale, ticks, labels[name], units.get(name, "")))
        parts.append(_x_axis(scale, labels_shown=index == len(cleaned) - 1))
        if before.get(name):
            parts.append(_series(name, before[name], scale, colours[name], faint=True))
        parts.append(_series(name, points, scale, colours[name]))
        parts.append("</g>")
    return "".join([*parts, "</svg>"])


# --- data ------------------------------------------------------------------------------------


def _clean(points: Sequence[Point]) -> list[Point]:
    """Points sorted by day, values as float, NaN and infinities as ``None`` (gaps)."""
    cleaned: list[Point] = []
    for day, value in sorted(points, key=lambda point: point[0]):
        number = None if value is None else float(value)
        cleaned.append((day, number if number is not None and math.isfinite(number) else None))
    return cleaned


def _has_values(series: Mapping[str, list[Point]]) -> bool:
    return any(value is not None for points in series.values() for _, value in points)


def _values(series: Mapping[str, list[Point]]) -> list[float]:
    return [value for points in series.values() for _, value in points if value is not None]


def _day_domain(series: Mapping[str, list[Point]]) -> tuple[date, date]:
    days = [day for points in series.values() for day, _ in points]
    return min(days), max(days)


def _runs(points: list[Point]) -> list[list[tuple[date, float]]]:
    """The unbroken stretches of a series: a ``None`` value ends one."""
    runs: list[list[tuple[date, float]]] = []
    current: list[tuple[date, float]] = []
    for day, value in points:
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((day, value))
    if current:
        runs.append(current)
    return runs


def _colours(series: Mapping[str, object]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}


# --- axes ------------------------------------------------------------------------------------


def _value_axis(values: list[float], target_ticks: int = 4) -> tuple[float, float, list[float]]:
    """A domain that includes 0 and every value, with "nice" ticks (1, 2, 2.5, 5 x 10^n)."""
    low, high = min([0.0, *values]), max([0.0, *values])
    if high == low:
        high = low + 1.0
    step = _nice_step((high - low) / target_ticks)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    ticks = [_round(i * step, step) for i in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def _nice_step(raw: float) -> float:
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0):
        if raw <= multiple * magnitude * (1 + 1e-9):
            return multiple * magnitude
    return 10.0 * magnitude


def _round(value: float, step: float) -> float:
    return round(value, _decimals(step) + 1)


def _decimals(step: float) -> int:
    """Decimal places needed to print multiples of ``step`` exactly (0.25 -> 2, 2.5 -> 1)."""
    exponent = Decimal(repr(round(step, 12))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _tick_label(value: float, ticks: list[float]) -> str:
    if value == 0:
        return "0"
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    largest = max(abs(tick) for tick in ticks)
    # (threshold, divisor, suffix): thousands only from 10k, so 1500 stays "1500"
    for threshold, divisor, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if largest >= threshold:
            return f"{value / divisor:.{_decimals(step / divisor)}f}{suffix}"
    return f"{value:.{_decimals(step)}f}"


def _day_ticks(first: date, last: date, most: int) -> list[date]:
    span = (last - first).days
    if span <= 0:
        return [first]
    step = next((s for s in _DAY_STEPS if span / s <= max(most - 1, 1)), _DAY_STEPS[-1])
    return [first + timedelta(days=offset) for offset in range(0, span + 1, step)]


def _y_axis(scale: _Scale, ticks: list[float], labels: list[str], y_label: str) -> str:
    box = scale.box
    parts = ['<g class="y-axis">']
    for tick, label in zip(ticks, labels, strict=True):
        y = scale.y(tick)
        parts.append(
            f'<line x1="{box.left:.1f}" y1="{y:.1f}" x2="{box.right:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        parts.append(_text(box.left - 6, y + 4, label, anchor="end", colour=MUTED_COLOUR))
    parts.append(
        f'<line x1="{box.left:.1f}" y1="{box.top:.1f}" x2="{box.left:.1f}" '
        f'y2="{box.bottom:.1f}" stroke="{AXIS_COLOUR}" stroke-width="1"/>'
    )
    if y_label:
        x, y = 12.0, box.top + box.height / 2
        parts.append(_text(x, y, y_label, anchor="middle", colour=MUTED_COLOUR, rotate=(x, y)))
    parts.append("</g>")
    return "".join(parts)


def _x_axis(scale: _Scale, *, labels_shown: bool) -> str:
    box = scale.box
    parts = [
        '<g class="x-axis">',
        f'<line x1="{box.left:.1f}" y1="{box.bottom:.1f}" x2="{box.right:.1f}" '
        f'y2="{box.bottom:.1f}" stroke="{AXIS_COLOUR}" stroke-width="1"/>',
    ]
    most = max(2, min(7, int(box.width // 95)))
    for day in _day_ticks(scale.first, scale.last, most):
        x = scale.x(day)
        parts.append(
            f'<line x1="{x:.1f}" y1="{box.bottom:.1f}" x2="{x:.1f}" y2="{box.bottom + 4:.1f}" '
            f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
        )
        if labels_shown:
            parts.append(
                _text(x, box.bottom + 17, day.isoformat(), anchor="middle", colour=MUTED_COLOUR)
            )
    parts.append("</g>")
    return "".join(parts)


# --- marks -----------------------------------------------------------------------------------


def _series(
    name: str, points: list[Point], scale: _Scale, colour: str, *, faint: bool = False
) -> str:
    """A polyline per unbroken run of values; a lone value between gaps is a dot. ``faint``:
    the previous period's, thin, dashed and translucent."""
    label = escape(f"{name}, previous period" if faint else name)
    kind = "series previous" if faint else "series"
    look = (
        'stroke-width="1.5" stroke-dasharray="4 3" opacity="0.45"'
        if faint
        else ('stroke-width="2"')
    )
    parts = [f'<g class="{kind}" data-series="{_attr(name)}">']
    for run in _runs(points):
        if len(run) == 1:
            day, value = run[0]
            parts.append(
                f'<circle cx="{scale.x(day):.1f}" cy="{scale.y(value):.1f}" r="3" '
                f'fill="{colour}"><title>{label}: {escape(day.isoformat())} '
                f"{_number(value)}</title></circle>"
            )
            continue
        coordinates = " ".join(f"{scale.x(day):.1f},{scale.y(value):.1f}" for day, value in run)
        parts.append(
            f'<polyline points="{coordinates}" fill="none" stroke="{colour}" {look} '
            f'stroke-linejoin="round" stroke-linecap="round"><title>{label}</title></polyline>'
        )
    parts.append("</g>")
    return "".join(parts)


def _no_data(box: _Box) -> str:
    return (
        f'<rect x="{box.left:.1f}" y="{box.top:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" fill="none" stroke="{GRID_COLOUR}" stroke-width="1"/>'
        + _text(
            box.left + box.width / 2,
            box.top + box.height / 2 + 4,
            "no data",
            anchor="middle",
            colour=MUTED_COLOUR,
            css_class="no-data",
        )
    )


# --- text --------------------------------------------------------------------------------------


def _open_svg(title: str, width: int, height: int, element_id: str) -> str:
    label = _attr(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" id="{_attr(element_id)}" '
        f'role="img" aria-label="{label}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_attr(FONT_FAMILY)}" font-size="11">'
        f"<title>{escape(title)}</title>"
    )


def _title_text(title: str) -> str:
    return _text(16, 20, title, size=14, weight="600", colour=TEXT_COLOUR, css_class="chart-title")


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int | None = None,
    weight: str | None = None,
    colour: str = TEXT_COLOUR,
    rotate: tuple[float, float] | None = None,
    css_class: str | None = None,
) -> str:
    attributes = [f'x="{x:.1f}"', f'y="{y:.1f}"', f'fill="{colour}"']
    if anchor != "start":
        attributes.append(f'text-anchor="{anchor}"')
    if size is not None:
        attributes.append(f'font-size="{size}"')
    if weight is not None:
        attributes.append(f'font-weight="{weight}"')
    if rotate is not None:
        attributes.append(f'transform="rotate(-90 {rotate[0]:.1f} {rotate[1]:.1f})"')
    if css_class is not None:
        attributes.append(f'class="{css_class}"')
    return f"<text {' '.join(attributes)}>{escape(content)}</text>"


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{value:.0f}"
