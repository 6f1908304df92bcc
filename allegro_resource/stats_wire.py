"""The statistics answer decoded at JSON speed: msgspec structs straight from the bytes, then
one Arrow conversion per section and vectorised checks of the decimal strings.

This is the fast path of ``stats_parse.parse_statistics`` and never the judge of a bad answer:
it accepts only answers the strict pydantic pass accepts (same types, required keys, counts
in [0, 2**63 - 1], dates "yyyy-MM-dd", decimal strings matching their pattern with ASCII
digits) and raises ``WireRefused`` on anything else, so the strict pass can name the field.
"""

from __future__ import annotations

from datetime import date
from itertools import chain
from operator import attrgetter
from typing import Annotated

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from allegro_resource.stats_columns import (
    AD_COLUMNS,
    GRAPHIC_AD,
    GRAPHIC_METRICS,
    METRICS,
    SPONSORED_METRICS,
    SPONSORED_OFFER,
    STATS_SCHEMA,
    Metric,
    ad_index,
    metric_array,
    per_ad,
)

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


class _NamedRef(msgspec.Struct, gc=False):
    id: str
    name: str


class _AdRef(msgspec.Struct, gc=False):
    id: str
    name: str
    offerId: str | None = None


class _Ad(msgspec.Struct):
    campaign: _NamedRef
    adGroup: _NamedRef
    ad: _AdRef
    dayData: list[_Day]


class _GraphicAd(msgspec.Struct):
    campaign: _NamedRef
    adGroup: _NamedRef
    ad: _AdRef
    dayData: list[_GraphicDay]


class _Document(msgspec.Struct):
    sponsoredOffers: list[_Ad] = []
    graphicAds: list[_GraphicAd] = []


_DECODER = msgspec.json.Decoder(_Document)
_DAY = attrgetter("day")
_DATA = attrgetter("data")


def _wire_type(metrics: tuple[Metric, ...], struct: type[msgspec.Struct]) -> pa.StructType:
    """The Arrow struct a metrics struct converts to: counts int64, decimals as strings."""
    types = {m.key: pa.string() if m.pattern else pa.int64() for m in metrics}
    return pa.struct([(key, types[key]) for key in struct.__struct_fields__])


_SPONSORED_WIRE = _wire_type(SPONSORED_METRICS, _Metrics)
_GRAPHIC_WIRE = _wire_type(GRAPHIC_METRICS, _GraphicMetrics)


class WireRefused(ValueError):
    """The answer is not one the fast path can vouch for: let the strict pass judge it."""


def decode_statistics(body: bytes, *, ads_client_id: str) -> pa.Table:
    """The statistics answer ``body`` as a ``STATS_SCHEMA`` table (sponsored offers first).

    Raises ``WireRefused`` (or ``UnfitDecimalError``) instead of naming what is wrong."""
    try:
        document = _DECODER.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is one
        raise WireRefused(str(exc)) from None
    sponsored, graphic = document.sponsoredOffers, document.graphicAds
    ads: list[_Ad | _GraphicAd] = [*sponsored, *graphic]
    index = ad_index([len(ad.dayData) for ad in ads])
    s_days = list(chain.from_iterable(ad.dayData for ad in sponsored))
    g_days = list(chain.from_iterable(ad.dayData for ad in graphic))
    rows = len(s_days) + len(g_days)
    arrays: dict[str, pa.Array] = {
        "ads_client_id": pa.repeat(pa.scalar(ads_client_id, pa.string()), rows),
        "ad_type": per_ad([SPONSORED_OFFER] * len(sponsored) + [GRAPHIC_AD] * len(graphic), index),
        "day": pa.array([*map(_DAY, s_days), *map(_DAY, g_days)], pa.date32()),
    }
    for column, part, key in AD_COLUMNS:
        arrays[column] = per_ad([getattr(getattr(ad, part), key) for ad in ads], index)
    s_metrics = _metrics_struct(s_days, _SPONSORED_WIRE)
    g_metrics = _metrics_struct(g_days, _GRAPHIC_WIRE)
    for metric in METRICS:
        values = pa.concat_arrays(
            [_field(s_metrics, metric, metric.sponsored), _field(g_metrics, metric, metric.graphic)]
        )
        if metric.pattern is not None and not _all_match(values, metric.pattern):
            raise WireRefused(f"a {metric.key} value is not a decimal string of its pattern")
        arrays[metric.column] = metric_array(metric, values)
    return pa.Table.from_arrays([arrays[name] for name in STATS_SCHEMA.names], schema=STATS_SCHEMA)


def _metrics_struct(days: list[_Day] | list[_GraphicDay], wire: pa.StructType) -> pa.StructArray:
    """The days' metrics as one Arrow struct array, built one field at a time (one list and one
    conversion per field; a tuple per row converted at once measured no faster)."""
    metrics = list(map(_DATA, days))
    fields = [pa.array(list(map(attrgetter(f.name), metrics)), f.type) for f in wire]
    return pa.StructArray.from_arrays(fields, fields=list(wire))


def _field(metrics: pa.StructArray, metric: Metric, carried: bool) -> pa.Array:
    """The metric's values in one section, or nulls where its ad type lacks it."""
    if carried:
        return metrics.field(metric.key)
    return pa.nulls(len(metrics), pa.string() if metric.pattern else pa.int64())


def _all_match(values: pa.Array, pattern: str) -> bool:
    """Every non-null value matches ``pattern`` (RE2: ``\\d`` is an ASCII digit)."""
    matched = pc.all(pc.match_substring_regex(values, pattern)).as_py()
    return matched is not False
