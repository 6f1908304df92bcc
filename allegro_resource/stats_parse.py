"""The statistics answer straight to Arrow: strict validation, then one column at a time.

The TypedDicts below are the one definition of the statistics answer's wire format: the
client's parser and the tests of the simulator's answers both read answers through
``parse_statistics``.

``parse_statistics`` validates the JSON body with a pydantic ``TypeAdapter`` over TypedDicts
(ints must be ints, money and ratios decimal strings, dates "yyyy-MM-dd", required keys
required, unknown keys ignored), flattens ad -> days into per-column lists and builds the
Arrow arrays. Decimals go from the validated strings to Arrow decimals: no float, ever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Annotated, Any, NotRequired

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic needs it on Python 3.11

from allegro_resource.errors import MalformedResponse
from allegro_resource.transport import malformed_answer

MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(18, 4)
_WIDE = pa.decimal128(38, 18)  # holds every value the ratio patterns admit, exactly

# Money must fit DECIMAL(18,2) as sent: a third decimal place is refused, never rounded.
Money = Annotated[str, StringConstraints(pattern=r"^-?\d{1,16}(?:\.\d{1,2})?$")]
# Allegro's own ratios (kept for checks) may carry more places; they are rounded half away
# from zero to the column, as every load of them always was.
MoneyRatio = Annotated[str, StringConstraints(pattern=r"^-?\d{1,16}(?:\.\d{1,18})?$")]
Ratio = Annotated[str, StringConstraints(pattern=r"^-?\d{1,14}(?:\.\d{1,18})?$")]
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


@dataclass(frozen=True, slots=True)
class _Metric:
    """One metric: its key in ``data``, its column, its Arrow type, rounded or exact, and
    which ad types carry it (the column is null on the other type's rows)."""

    key: str
    column: str
    type: pa.DataType
    rounded: bool = False
    sponsored: bool = True
    graphic: bool = True


_METRICS = (
    _Metric("views", "views", pa.int64()),
    _Metric("clicks", "clicks", pa.int64()),
    _Metric("interest", "interest", pa.int64()),
    _Metric("totalCost", "cost", MONEY),
    _Metric("ctr", "ctr", RATIO, rounded=True),
    _Metric("totalAttributionCount", "attributed_count", pa.int64()),
    _Metric("totalAttributionValue", "attributed_value", MONEY),
    _Metric("effectiveCpc", "effective_cpc", MONEY, rounded=True, graphic=False),
    _Metric("rateOfReturn", "rate_of_return", MONEY, rounded=True),
    _Metric("uniqueReach", "unique_reach", pa.int64(), sponsored=False),
    _Metric("effectiveCpm", "effective_cpm", MONEY, rounded=True, sponsored=False),
    _Metric("attributedToCoreValue", "attributed_to_core_value", MONEY, sponsored=False),
)
ROUNDED_COLUMNS = frozenset(m.column for m in _METRICS if m.rounded)
_SPONSORED_METRICS = tuple(m for m in _METRICS if m.sponsored)
_GRAPHIC_METRICS = tuple(m for m in _METRICS if m.graphic)

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

STATS_SCHEMA = pa.schema(
    [
        pa.field("ads_client_id", pa.string(), nullable=False),
        pa.field("ad_type", pa.string(), nullable=False),
        pa.field("campaign_id", pa.string(), nullable=False),
        pa.field("campaign_name", pa.string(), nullable=False),
        pa.field("ad_group_id", pa.string(), nullable=False),
        pa.field("ad_group_name", pa.string(), nullable=False),
        pa.field("ad_id", pa.string(), nullable=False),
        pa.field("ad_name", pa.string(), nullable=False),
        pa.field("offer_id", pa.string()),  # graphic ads have none
        pa.field("day", pa.date32(), nullable=False),
        pa.field("views", pa.int64(), nullable=False),
        pa.field("clicks", pa.int64(), nullable=False),
        pa.field("interest", pa.int64(), nullable=False),
        pa.field("cost", MONEY, nullable=False),
        pa.field("ctr", RATIO, nullable=False),
        pa.field("attributed_count", pa.int64(), nullable=False),
        pa.field("attributed_value", MONEY, nullable=False),
        pa.field("effective_cpc", MONEY),  # sponsored offers only
        pa.field("rate_of_return", MONEY, nullable=False),
        pa.field("unique_reach", pa.int64()),  # graphic ads only: distinct users that day
        pa.field("effective_cpm", MONEY),  # graphic ads only
        pa.field("attributed_to_core_value", MONEY),  # graphic ads only
    ]
)
"""One ad on one day, column names as ``StatRow``'s fields (and in the same order).

``unique_reach`` counts distinct users of one day: it is never additive across days."""

_DAY = itemgetter("day")
_DATA = itemgetter("data")


class UnfitDecimalError(ValueError):
    """A decimal column holds a value its Arrow type cannot take."""

    def __init__(self, key: str, type_: pa.DataType) -> None:
        self.key = key
        super().__init__(f"a {key} value does not fit {type_}; nothing of this answer was used")


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
    try:
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
    ad_index = flat.ad_index()
    arrays: dict[str, pa.Array] = {
        "ads_client_id": pa.repeat(pa.scalar(ads_client_id, pa.string()), len(flat.days)),
        "ad_type": _per_ad(flat.ad_types, ad_index),
        "day": pa.array(flat.days, pa.date32()),
    }
    for column, value in _AD_COLUMNS:
        arrays[column] = _per_ad([value(ad) for ad in flat.ads], ad_index)
    sponsored = _transpose(flat.sponsored, _SPONSORED_METRICS)
    graphic = _transpose(flat.graphic, _GRAPHIC_METRICS)
    for metric in _METRICS:
        # Rows are every sponsored offer's days, then every graphic ad's (``_flatten``); a
        # metric one type lacks is null on its rows.
        values = sponsored.get(metric.column, [None] * len(flat.sponsored))
        values += graphic.get(metric.column, [None] * len(flat.graphic))
        arrays[metric.column] = _metric_array(metric, values)
    return pa.Table.from_arrays([arrays[name] for name in STATS_SCHEMA.names], schema=STATS_SCHEMA)


def round_half_away(values: pa.Array, type_: pa.Decimal128Type) -> pa.Array:
    """Decimals rounded half away from zero to ``type_``; ``ArrowInvalid`` if one overflows."""
    rounded = pc.round(values, ndigits=type_.scale, round_mode="half_towards_infinity")
    return rounded.cast(type_)


@dataclass(slots=True)
class _Flat:
    """The document's ads (with their type) and their days' entries, in row order."""

    ads: list[AdStatisticsDoc | GraphicAdStatisticsDoc] = field(default_factory=list)
    ad_types: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
    sponsored: list[DayMetricsDoc] = field(default_factory=list)
    graphic: list[GraphicDayMetricsDoc] = field(default_factory=list)

    def ad_index(self) -> pa.Array:
        """For each row, the index of its ad in ``ads``."""
        positions = np.arange(len(self.ads), dtype=np.int32)
        return pa.array(np.repeat(positions, np.asarray(self.counts, dtype=np.int64)))


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


def _transpose(rows: Sequence[Any], metrics: Sequence[_Metric]) -> dict[str, list[Any]]:
    """Metric rows -> column name: one list per metric of ``metrics`` (one C-level pass each)."""
    return {metric.column: list(map(itemgetter(metric.key), rows)) for metric in metrics}


def _per_ad(values: Sequence[str | None], ad_index: pa.Array) -> pa.Array:
    """One value per ad repeated on each of its rows."""
    return pa.array(values, pa.string()).take(ad_index)


def _metric_array(metric: _Metric, values: Sequence[Any]) -> pa.Array:
    if not pa.types.is_decimal(metric.type):
        return pa.array(values, metric.type)
    strings = pa.array(values, pa.string())
    try:
        return pc.cast(strings, metric.type)
    except pa.ArrowInvalid:
        if not metric.rounded:
            raise UnfitDecimalError(metric.key, metric.type) from None
    try:
        return round_half_away(pc.cast(strings, _WIDE), metric.type)
    except pa.ArrowInvalid:
        raise UnfitDecimalError(metric.key, metric.type) from None
