"""The statistics answer straight to Arrow: strict, exact, naming the first bad field.

The TypedDicts below are the one definition of the statistics answer's wire format: the
client's parser and the tests of the simulator's answers both read answers through
``parse_statistics``.

``parse_statistics`` reads a body in three tiers at most, each accepting only what the strict
one accepts and building the same table:

1. ``stats_columnar``: day records in the compact layout the simulator sends (no
   whitespace, the keys in its order; Allegro's is not documented) read as columns of text
   by numpy and one Arrow call per step, without a Python object per row or value; msgspec
   reads only the ads' heads. Anything else it refuses (``WireRefused``) to
2. ``stats_wire``: msgspec structs straight from the bytes (any key order, whitespace,
   unknown keys), vectorised checks of the decimal strings. What it does not vouch for goes to
3. the strict pass: a pydantic ``TypeAdapter`` over the TypedDicts
(ints must be ints, money and ratios decimal strings, dates "yyyy-MM-dd", required keys
required, unknown keys ignored), which names the first bad field in its ``MalformedResponse``
(or, should it accept the body after all, builds the table from the validated document).
Decimals go from the validated strings to Arrow decimals: no float, ever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Annotated, Any, NotRequired

import pyarrow as pa
from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic needs it on Python 3.11

from allegro_resource.errors import MalformedResponse
from allegro_resource.stats_columns import (
    GRAPHIC_METRICS,
    METRICS,
    MONEY_PATTERN,
    MONEY_RATIO_PATTERN,
    RATIO_PATTERN,
    ROUNDED_COLUMNS,
    SPONSORED_METRICS,
    STATS_SCHEMA,
    Metric,
    UnfitDecimalError,
    WireRefused,
    ad_index,
    metric_array,
    per_ad,
    round_half_away,
    stats_table,
)
from allegro_resource.transport import malformed_answer

__all__ = [
    "ROUNDED_COLUMNS",
    "STATS_SCHEMA",
    "DayMetricsDoc",
    "GraphicDayMetricsDoc",
    "StatisticsDocument",
    "parse_statistics",
    "round_half_away",
]

Money = Annotated[str, StringConstraints(pattern=MONEY_PATTERN)]
MoneyRatio = Annotated[str, StringConstraints(pattern=MONEY_RATIO_PATTERN)]
Ratio = Annotated[str, StringConstraints(pattern=RATIO_PATTERN)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]

_STRICT = ConfigDict(strict=True, extra="ignore")


@with_config(_STRICT)
class _BaseMetricsDoc(TypedDict):
    views: Count
    clicks: Count
    interest: Count
    totalCost: Money
    ctr: Ratio
    totalAttributionCount: Count
    totalAttributionValue: Money
    rateOfReturn: MoneyRatio


@with_config(_STRICT)
class DayMetricsDoc(_BaseMetricsDoc):
    """A sponsored offer's day: billed per click, so it carries ``effectiveCpc``."""

    effectiveCpc: MoneyRatio


@with_config(_STRICT)
class GraphicDayMetricsDoc(_BaseMetricsDoc):
    """A graphic ad's day: ``effectiveCpm``, ``uniqueReach`` and ``attributedToCoreValue``, no
    ``effectiveCpc`` (allegro-api.md; a stray one is ignored like any unknown key)."""

    effectiveCpm: MoneyRatio
    uniqueReach: Count
    attributedToCoreValue: Money


@with_config(_STRICT)
class DayDataDoc(TypedDict):
    day: date  # strict JSON mode takes exactly "yyyy-MM-dd" strings (and real dates)
    data: DayMetricsDoc


@with_config(_STRICT)
class GraphicDayDataDoc(TypedDict):
    day: date
    data: GraphicDayMetricsDoc


@with_config(_STRICT)
class NamedRefDoc(TypedDict):
    id: str
    name: str


@with_config(_STRICT)
class AdRefDoc(TypedDict):
    id: str
    name: str
    offerId: NotRequired[str | None]


@with_config(_STRICT)
class AdStatisticsDoc(TypedDict):
    campaign: NamedRefDoc
    adGroup: NamedRefDoc
    ad: AdRefDoc
    dayData: list[DayDataDoc]


@with_config(_STRICT)
class GraphicAdStatisticsDoc(TypedDict):
    campaign: NamedRefDoc
    adGroup: NamedRefDoc
    ad: AdRefDoc
    dayData: list[GraphicDayDataDoc]


@with_config(_STRICT)
class StatisticsDocument(TypedDict):
    sponsoredOffers: NotRequired[list[AdStatisticsDoc]]
    graphicAds: NotRequired[list[GraphicAdStatisticsDoc]]


_ADAPTER: TypeAdapter[StatisticsDocument] = TypeAdapter(StatisticsDocument)

# (column, its value in an ad element): values that repeat on every day of an ad.
_AD_COLUMNS: tuple[
    tuple[str, Callable[[AdStatisticsDoc | GraphicAdStatisticsDoc], str | None]], ...
] = (
    ("campaign_id", lambda ad: ad["campaign"]["id"]),
    ("campaign_name", lambda ad: ad["campaign"]["name"]),
    ("ad_group_id", lambda ad: ad["adGroup"]["id"]),
    ("ad_group_name", lambda ad: ad["adGroup"]["name"]),
    ("ad_id", lambda ad: ad["ad"]["id"]),
    ("ad_name", lambda ad: ad["ad"]["name"]),
    ("offer_id", lambda ad: ad["ad"].get("offerId")),
)
_DAY = itemgetter("day")
_DATA = itemgetter("data")


def parse_statistics(
    body: bytes,
    *,
    ads_client_id: str,
    endpoint: str,
    customer_id: str | None,
    trace_id: str | None = None,
) -> pa.Table:
    """The statistics answer ``body`` as a ``STATS_SCHEMA`` table, one row per ad and day.

    Raises ``MalformedResponse`` naming the endpoint, the customer and the first bad field.
    """
    # The fast tiers load numba (about a second of start-up): imported here, a process pays
    # that when it first parses statistics, not whenever it imports the client.
    from allegro_resource.stats_columnar import decode_columnar
    from allegro_resource.stats_wire import decode_statistics

    try:
        try:
            return decode_columnar(body, ads_client_id=ads_client_id)
        except (WireRefused, pa.ArrowException):
            pass  # not in the canonical layout (or not valid): the msgspec tier reads it
        try:
            return decode_statistics(body, ads_client_id=ads_client_id)
        except (WireRefused, UnfitDecimalError, pa.ArrowException):
            # Not vouched for: the strict pass names what is wrong (or accepts it after all).
            document = _ADAPTER.validate_json(body)
            return _statistics_table(document, ads_client_id=ads_client_id)
    except ValidationError as exc:
        raise malformed_answer(
            exc, endpoint=endpoint, customer_id=customer_id, trace_id=trace_id
        ) from None
    except UnfitDecimalError as exc:
        raise MalformedResponse(endpoint, str(exc), customer_id, exc.key) from None


def _statistics_table(document: StatisticsDocument, *, ads_client_id: str) -> pa.Table:
    """A validated statistics document as a ``STATS_SCHEMA`` table (sponsored offers first)."""
    flat = _flatten(document)
    index = ad_index(flat.counts)
    arrays: dict[str, pa.Array] = {
        "ads_client_id": pa.repeat(pa.scalar(ads_client_id, pa.string()), len(flat.days)),
        "ad_type": per_ad(flat.ad_types, index),
        "day": pa.array(flat.days, pa.date32()),
    }
    for column, value in _AD_COLUMNS:
        arrays[column] = per_ad([value(ad) for ad in flat.ads], index)
    sponsored = _transpose(flat.sponsored, SPONSORED_METRICS)
    graphic = _transpose(flat.graphic, GRAPHIC_METRICS)
    for metric in METRICS:
        # Rows are every sponsored offer's days, then every graphic ad's (``_flatten``); a
        # metric one type lacks is null on its rows.
        values = sponsored.get(metric.column, [None] * len(flat.sponsored))
        values += graphic.get(metric.column, [None] * len(flat.graphic))
        wire_type = pa.string() if metric.pattern else pa.int64()
        arrays[metric.column] = metric_array(metric, pa.array(values, wire_type))
    return stats_table(arrays)


@dataclass(slots=True)
class _Flat:
    """The document's ads (with their type) and their days' entries, in row order."""

    ads: list[AdStatisticsDoc | GraphicAdStatisticsDoc] = field(default_factory=list)
    ad_types: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
    sponsored: list[DayMetricsDoc] = field(default_factory=list)
    graphic: list[GraphicDayMetricsDoc] = field(default_factory=list)


def _flatten(document: StatisticsDocument) -> _Flat:
    """Sponsored offers first, then graphic ads: the row order of the table."""
    flat = _Flat()
    sponsored = document.get("sponsoredOffers", [])
    for ad in sponsored:
        entries = ad["dayData"]
        flat.counts.append(len(entries))
        flat.days.extend(map(_DAY, entries))
        flat.sponsored.extend(map(_DATA, entries))
    graphic = document.get("graphicAds", [])
    for graphic_ad in graphic:
        graphic_entries = graphic_ad["dayData"]
        flat.counts.append(len(graphic_entries))
        flat.days.extend(map(_DAY, graphic_entries))
        flat.graphic.extend(map(_DATA, graphic_entries))
    flat.ads.extend(sponsored)
    flat.ads.extend(graphic)
    flat.ad_types.extend(["SPONSORED_OFFER"] * len(sponsored) + ["GRAPHIC_AD"] * len(graphic))
    return flat


def _transpose(rows: Sequence[Any], metrics: Sequence[Metric]) -> dict[str, list[Any]]:
    """Metric rows -> column name: one list per metric of ``metrics`` (one C-level pass each)."""
    return {metric.column: list(map(itemgetter(metric.key), rows)) for metric in metrics}
