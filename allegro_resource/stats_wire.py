"""The statistics answer decoded at JSON speed: msgspec structs straight from the bytes, then
a few Arrow conversions per answer: the per-ad columns built from repeated bytes, the metrics
of one kind (counts, or decimal strings of one pattern) converted together, each kind's
decimal strings checked as one text by one RE2 match and cast exactly.

This is the second tier of ``stats_parse.parse_statistics`` (after ``stats_columnar``, which
reads only the canonical compact layout, and before the strict pydantic pass), and never the
judge of a bad answer: it accepts only answers the strict pydantic pass accepts (same types,
required keys, counts in [0, 2**63 - 1], dates "yyyy-MM-dd", decimal strings matching their
pattern with ASCII digits) and raises ``WireRefused`` on anything else, so the strict pass
can name the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from msgspec.structs import astuple

from allegro_resource.stats_columns import (
    AD_COLUMNS,
    GRAPHIC_AD,
    MAX_STRING_BYTES,
    METRICS,
    SPONSORED_OFFER,
    Metric,
    WireRefused,
    metric_array,
    stats_table,
)
from allegro_resource.string_columns import repeated

Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


# gc=False: these hold only scalars and other such structs, never a cycle, and millions of
# them per backfill would otherwise keep the cycle collector busy.
class _CommonMetrics(msgspec.Struct, gc=False):
    """What both ad types report (each adds its own fields after these)."""

    views: Count
    clicks: Count
    interest: Count
    totalCost: str
    ctr: str
    totalAttributionCount: Count
    totalAttributionValue: str
    rateOfReturn: str


class _Metrics(_CommonMetrics, gc=False):
    effectiveCpc: str


class _GraphicMetrics(_CommonMetrics, gc=False):
    effectiveCpm: str
    uniqueReach: Count
    attributedToCoreValue: str


class _Day(msgspec.Struct, gc=False):
    day: date  # msgspec takes exactly "yyyy-MM-dd" of a real date
    data: _Metrics


class _GraphicDay(msgspec.Struct, gc=False):
    day: date
    data: _GraphicMetrics


class NamedRef(msgspec.Struct, gc=False):
    """A campaign's or an ad group's reference in an ad element."""

    id: str
    name: str


class AdRef(msgspec.Struct, gc=False):
    """The ad's reference in an ad element (graphic ads have no offer)."""

    id: str
    name: str
    offerId: str | None = None


class AdHead(msgspec.Struct):
    """What an ad element holds besides its days: the references repeated on each of its rows
    (each tier adds its own ``dayData``)."""

    campaign: NamedRef
    adGroup: NamedRef
    ad: AdRef


class _Ad(AdHead):
    dayData: list[_Day]


class _GraphicAd(AdHead):
    dayData: list[_GraphicDay]


class _Document(msgspec.Struct):
    sponsoredOffers: list[_Ad] = []
    graphicAds: list[_GraphicAd] = []


_DECODER = msgspec.json.Decoder(_Document)
_DAY = attrgetter("day")
_DATA = attrgetter("data")


def decode_statistics(body: bytes, *, ads_client_id: str) -> pa.Table:
    """The statistics answer ``body`` as a ``STATS_SCHEMA`` table (sponsored offers first).

    Raises ``WireRefused`` (or ``UnfitDecimalError``) instead of naming what is wrong."""
    try:
        document = _DECODER.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is one
        raise WireRefused(str(exc)) from None
    sponsored, graphic = document.sponsoredOffers, document.graphicAds
    ads: list[_Ad | _GraphicAd] = [*sponsored, *graphic]
    counts = [len(ad.dayData) for ad in ads]
    s_days = list(chain.from_iterable(ad.dayData for ad in sponsored))
    g_days = list(chain.from_iterable(ad.dayData for ad in graphic))
    arrays = head_columns(ads_client_id, ads, counts, [len(s_days), len(g_days)])
    arrays["day"] = pa.array([*map(_DAY, s_days), *map(_DAY, g_days)], pa.date32())
    arrays |= _metric_columns(_Section(s_days, _Metrics), _Section(g_days, _GraphicMetrics))
    return stats_table(arrays)


def head_columns(
    ads_client_id: str, ads: Sequence[AdHead], counts: Sequence[int], section_rows: Sequence[int]
) -> dict[str, pa.Array]:
    """The columns a row takes from its answer and its ad: the client, the ad type (the
    sponsored offers' ``section_rows[0]`` rows first, then the graphic ads'), and each of the
    ``ads``' references repeated on its ``counts`` rows."""
    arrays: dict[str, pa.Array] = {
        "ads_client_id": pa.repeat(pa.scalar(ads_client_id, pa.string()), sum(section_rows)),
        "ad_type": repeated([SPONSORED_OFFER, GRAPHIC_AD], section_rows),
    }
    for column, part, key in AD_COLUMNS:
        arrays[column] = repeated([getattr(getattr(ad, part), key) for ad in ads], counts)
    return arrays


class _Section:
    """One section's metrics, every row's fields in one flat list (one ``astuple`` per row, a
    step slice per field: a pass per field over the structs costs several times more)."""

    def __init__(self, days: list[_Day] | list[_GraphicDay], struct: type[msgspec.Struct]):
        self.rows = len(days)
        self._keys = struct.__struct_fields__
        self._flat = list(chain.from_iterable(map(astuple, map(_DATA, days))))

    def values(self, key: str) -> list[Any]:
        """The field ``key`` of every row in order (none if this section has no such field)."""
        if key not in self._keys:
            return []
        return self._flat[self._keys.index(key) :: len(self._keys)]


def _metric_columns(sponsored: _Section, graphic: _Section) -> dict[str, pa.Array]:
    """Every metric's column over both sections (sponsored rows first), null where an ad type
    does not carry the metric.

    The metrics that share a wire type and an Arrow type are converted together: one list of
    counts, or one text of decimal strings checked and cast at once (each Arrow call has a
    fixed cost, compiling the pattern the largest), then cut into columns."""
    columns: dict[str, pa.Array] = {}
    for group in _GROUPS:
        values = [(sponsored.values(m.key), graphic.values(m.key)) for m in group]
        converted = _converted(group[0], list(chain.from_iterable(chain.from_iterable(values))))
        start = 0
        for metric, (s_values, g_values) in zip(group, values, strict=True):
            column = converted.slice(start, len(s_values) + len(g_values))
            start += len(column)
            if not metric.sponsored:
                column = pa.concat_arrays([pa.nulls(sponsored.rows, metric.type), column])
            if not metric.graphic:
                column = pa.concat_arrays([column, pa.nulls(graphic.rows, metric.type)])
            columns[metric.column] = column
    return columns


def _converted(metric: Metric, values: list[Any]) -> pa.Array:
    """Wire values of ``metric``'s kind as its Arrow type (counts were range-checked by
    msgspec; decimal strings are checked against the pattern here). Should a value not fit,
    the error names ``metric``, the first of its kind: the strict pass names the right one."""
    if metric.pattern is None:
        return pa.array(np.fromiter(values, dtype=np.int64, count=len(values)))
    return metric_array(metric, _decimal_strings(values, metric.pattern))


def _decimal_strings(values: list[str], pattern: str) -> pa.Array:
    """``values`` as an Arrow string array once every one matches ``pattern``, else
    ``WireRefused``; each string carries the suffix ``e0`` (times ten to the zeroth), which
    Arrow's decimal cast reads as the same number.

    The values are joined into one text, each followed by ``e0``, and checked by one RE2 match
    (\\d is an ASCII digit there, ``$`` the end of the text): one pass of RE2's DFA instead of a
    match per value. No pattern admits an ``e``, so every ``e`` in a text that matches ends a
    value: one more ``e`` than values means a value held an ``e0`` of its own, and is refused.
    The ``e`` positions give the strings' offsets, the text their bytes, with no copy."""
    if not values:
        return pa.array([], pa.string())
    text = ("e0".join(values) + "e0").encode()
    if len(text) > MAX_STRING_BYTES:
        raise WireRefused("the decimal strings do not fit one Arrow string array")
    whole = pa.Array.from_buffers(
        pa.string(), 1, [None, pa.py_buffer(np.array([0, len(text)], np.int32)), pa.py_buffer(text)]
    )
    if not pc.all(pc.match_substring_regex(whole, _lines_pattern(pattern))).as_py():
        raise WireRefused(f"a value is not a decimal string of the pattern {pattern}")
    ends = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord("e")) + 2
    if len(ends) != len(values):
        raise WireRefused("a decimal string holds an exponent")
    offsets = np.concatenate([np.zeros(1, np.int32), ends.astype(np.int32)])
    return pa.Array.from_buffers(
        pa.string(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(text)]
    )


@cache
def _lines_pattern(pattern: str) -> str:
    """``^X$`` -> ``^(?:Xe0)+$``: values that each match ``pattern``, each followed by ``e0``."""
    return f"^(?:{pattern.removeprefix('^').removesuffix('$')}e0)+$"


def _groups() -> tuple[tuple[Metric, ...], ...]:
    """The metrics by (pattern, Arrow type, rounded): what converts as one array."""
    groups: dict[tuple[str | None, pa.DataType, bool], list[Metric]] = {}
    for metric in METRICS:
        groups.setdefault((metric.pattern, metric.type, metric.rounded), []).append(metric)
    return tuple(map(tuple, groups.values()))


_GROUPS = _groups()


def _check_sections() -> None:
    """Each section's struct has exactly the fields its ad type carries: a metric missing from
    a struct would shift every column cut after it."""
    for struct, carries in ((_Metrics, "sponsored"), (_GraphicMetrics, "graphic")):
        carried = {m.key for m in METRICS if getattr(m, carries)}
        if set(struct.__struct_fields__) != carried:
            raise TypeError(f"{struct.__name__} does not hold the {carries} metrics")


_check_sections()
