"""The statistics table: its schema, the metrics of the wire format and their columns, and the
Arrow steps both parsers share (one value per ad repeated on its rows, exact decimals)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(18, 4)
_WIDE = pa.decimal128(38, 18)  # holds every value the ratio patterns admit, exactly
MAX_STRING_BYTES = 2**31 - 1  # what an Arrow string array (32-bit offsets) holds

# The decimal strings' patterns (the wire format's): money must fit DECIMAL(18,2) as sent, a
# third decimal place is refused, never rounded. Allegro's own ratios (kept for checks) may
# carry more places; they are rounded half away from zero to the column.
MONEY_PATTERN = r"^-?\d{1,16}(?:\.\d{1,2})?$"
MONEY_RATIO_PATTERN = r"^-?\d{1,16}(?:\.\d{1,18})?$"
RATIO_PATTERN = r"^-?\d{1,14}(?:\.\d{1,18})?$"


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: its key in ``data``, its column, its Arrow type, the pattern of its decimal
    string (None for counts), rounded or exact, and which ad types carry it (the column is
    null on the other type's rows)."""

    key: str
    column: str
    type: pa.DataType
    pattern: str | None = None
    rounded: bool = False
    sponsored: bool = True
    graphic: bool = True


METRICS = (
    Metric("views", "views", pa.int64()),
    Metric("clicks", "clicks", pa.int64()),
    Metric("interest", "interest", pa.int64()),
    Metric("totalCost", "cost", MONEY, MONEY_PATTERN),
    Metric("ctr", "ctr", RATIO, RATIO_PATTERN, True),
    Metric("totalAttributionCount", "attributed_count", pa.int64()),
    Metric("totalAttributionValue", "attributed_value", MONEY, MONEY_PATTERN),
    Metric("effectiveCpc", "effective_cpc", MONEY, MONEY_RATIO_PATTERN, True, graphic=False),
    Metric("rateOfReturn", "rate_of_return", MONEY, MONEY_RATIO_PATTERN, True),
    Metric("uniqueReach", "unique_reach", pa.int64(), sponsored=False),
    Metric("effectiveCpm", "effective_cpm", MONEY, MONEY_RATIO_PATTERN, True, sponsored=False),
    Metric(
        "attributedToCoreValue", "attributed_to_core_value", MONEY, MONEY_PATTERN, sponsored=False
    ),
)
ROUNDED_COLUMNS = frozenset(m.column for m in METRICS if m.rounded)
SPONSORED_METRICS = tuple(m for m in METRICS if m.sponsored)
GRAPHIC_METRICS = tuple(m for m in METRICS if m.graphic)

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

# (column, key of the ad element's part, key in that part): values repeated on each ad's days.
AD_COLUMNS = (
    ("campaign_id", "campaign", "id"),
    ("campaign_name", "campaign", "name"),
    ("ad_group_id", "adGroup", "id"),
    ("ad_group_name", "adGroup", "name"),
    ("ad_id", "ad", "id"),
    ("ad_name", "ad", "name"),
    ("offer_id", "ad", "offerId"),
)
SPONSORED_OFFER = "SPONSORED_OFFER"
GRAPHIC_AD = "GRAPHIC_AD"


def stats_table(arrays: dict[str, pa.Array]) -> pa.Table:
    """The ``STATS_SCHEMA`` table of ``arrays`` (one per column name, any order)."""
    return pa.Table.from_arrays([arrays[name] for name in STATS_SCHEMA.names], schema=STATS_SCHEMA)


class WireRefused(ValueError):
    """The answer is not one a fast tier can vouch for: let the next tier, and at last the
    strict pass, judge it."""


class UnfitDecimalError(ValueError):
    """A decimal column holds a value its Arrow type cannot take."""

    def __init__(self, key: str, type_: pa.DataType) -> None:
        self.key = key
        super().__init__(f"a {key} value does not fit {type_}; nothing of this answer was used")


def ad_index(counts: Sequence[int]) -> pa.Array:
    """For each row, the index of its ad, given each ad's number of rows (in row order)."""
    positions = np.arange(len(counts), dtype=np.int32)
    return pa.array(np.repeat(positions, np.asarray(counts, dtype=np.int64)))


def per_ad(values: Sequence[str | None], index: pa.Array) -> pa.Array:
    """One value per ad repeated on each of its rows (``index`` from ``ad_index``)."""
    return pa.array(values, pa.string()).take(index)


def metric_array(metric: Metric, values: pa.Array) -> pa.Array:
    """The metric's column from its wire values (ints, or decimal strings cast exactly; a ratio
    with more places rounded half away from zero); ``UnfitDecimalError`` if one does not fit."""
    if not pa.types.is_decimal(metric.type):
        return values.cast(metric.type)
    try:
        return pc.cast(values, metric.type)
    except pa.ArrowInvalid:
        if not metric.rounded:
            raise UnfitDecimalError(metric.key, metric.type) from None
    try:
        return round_half_away(pc.cast(values, _WIDE), metric.type)
    except pa.ArrowInvalid:
        raise UnfitDecimalError(metric.key, metric.type) from None


def round_half_away(values: pa.Array, type_: pa.Decimal128Type) -> pa.Array:
    """Decimals rounded half away from zero to ``type_``; ``ArrowInvalid`` if one overflows."""
    rounded = pc.round(values, ndigits=type_.scale, round_mode="half_towards_infinity")
    return rounded.cast(type_)
