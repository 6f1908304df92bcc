"""Day records read in one compiled pass: numba turns ``_read`` into machine code that reads
each byte of an ad type's records once, without the interpreter lock (the fetching threads
parse side by side).

The pass accepts a record only in the compact layout the simulator sends (``Layout``: the
keys in one order, no whitespace) and only values the strict pydantic pass accepts; on
anything else it stops and ``read_records`` raises ``Refusal``, so the caller hands the body
to the next tier. Values come out as integers: days since 1970-01-01, counts, and decimals in
units of 10**-scale of their column's type (a ratio with more places than its column rounded
half away from zero), written straight into the buffers of the table's columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allegro_resource.jit import compiled, inline
from allegro_resource.stats_columns import METRICS, Metric

I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]

# The metric columns by kind: the pass writes counts (int64) and decimals (decimal128: the
# units, then their sign extended) into an array per kind, a row per column.
COUNT_METRICS = tuple(m for m in METRICS if m.pattern is None)
DECIMAL_METRICS = tuple(m for m in METRICS if m.pattern is not None)
MOST_COUNT_DIGITS = 16  # any 16 digits fit int64; a longer count goes to the next tier

# What the pass returns instead of a row count when it stops, and what that means.
_REFUSALS = {
    -1: "a day record is not in the compact layout",
    -2: "a day is not a real yyyy-mm-dd date",
    -3: "a count has a sign, a leading zero or more than 16 digits",
    -4: "a decimal string has no point, no digit on one side, or more than its pattern admits",
    -5: "a rounded ratio is at the edge of its column",
    -6: "more day records than there is room for",
}
_BAD_RECORD, _BAD_DAY, _BAD_COUNT, _BAD_DECIMAL, _AT_THE_EDGE, _TOO_MANY = range(-1, -7, -1)


class Refusal(ValueError):
    """The pass met something it does not vouch for; the message says what."""


# A field's reading, one row of ``Layout.fields``: where its literal (the key, a decimal's
# opening quote) lies in ``Layout.literals``, and how its value is read.
_LITERAL_AT, _LITERAL_LENGTH, _IS_DECIMAL, _COLUMN, _SCALE, _WHOLE, _PLACES, _ROUNDED = range(8)


@dataclass(frozen=True)
class Layout:
    """One ad type's record as the pass reads it: per metric in the layout's order, its literal
    and reading (see the ``_LITERAL_AT``... columns); a decimal's digits are bounded by its
    pattern."""

    fields: I64
    literals: U8
    shortest: int  # bytes of the shortest record it accepts

    def most_records(self, text_bytes: int) -> int:
        """The most records ``text_bytes`` of record lists can hold in this layout."""
        return text_bytes // self.shortest

    @classmethod
    def of(cls, keys: tuple[str, ...]) -> Layout:
        """The layout of records whose ``data`` holds ``keys`` in this order."""
        by_key = {metric.key: metric for metric in METRICS}
        literals, fields = b"", []
        shortest = len(_DAY_OPEN) + len("yyyy-mm-dd") + len(_DATA_OPEN) + len("}}")
        for i, key in enumerate(keys):
            metric = by_key[key]
            quote = "" if metric.pattern is None else '"'
            literal = f'{"," if i else ""}"{key}":{quote}'.encode()
            fields.append([len(literals), len(literal), *_reading(metric)])
            literals += literal
            shortest += len(literal) + (1 if metric.pattern is None else len('0.0"'))
        literal_bytes = np.frombuffer(literals, np.uint8).copy()
        return cls(np.array(fields, np.int64), literal_bytes, shortest)


def _reading(metric: Metric) -> list[int]:
    """Kind, column among its kind's, and for a decimal its scale, the most integer digits and
    places its pattern admits, and whether it is rounded to its column."""
    if metric.pattern is None:
        return [0, COUNT_METRICS.index(metric), 0, 0, 0, 0]
    whole, places = (int(n) for n in re.findall(r"\{1,(\d+)\}", metric.pattern))
    scale = metric.type.scale
    return [1, DECIMAL_METRICS.index(metric), scale, whole, places, int(metric.rounded)]


@dataclass
class Records:
    """The rows read: per ad its number of rows, then per row its day (days since
    1970-01-01), counts (a row per count metric) and decimals (a row per decimal metric, 16
    bytes per value)."""

    per_ad: I64
    days: NDArray[np.int32]
    counts: I64
    decimals: I64


def empty_records(capacity: int, ads: int) -> Records:
    """Room for ``capacity`` rows of ``ads`` ads."""
    return Records(
        np.zeros(ads, np.int64),
        np.empty(capacity, np.int32),
        np.empty((len(COUNT_METRICS), capacity), np.int64),
        np.empty((len(DECIMAL_METRICS), capacity, 2), np.int64),
    )


def read_records(
    body: U8, starts: I64, ends: I64, layout: Layout, into: Records, first_ad: int, first_row: int
) -> int:
    """Read the records of the ads whose record lists are ``body[starts[i]:ends[i]]`` (without
    their brackets) into ``into``, from its ``first_ad`` and ``first_row``; the next free row.
    ``Refusal`` if a record is not in ``layout`` or holds a value the strict pass refuses."""
    row = int(
        _read(
            body,
            starts,
            ends,
            layout.fields,
            layout.literals,
            into.per_ad[first_ad:],
            first_row,
            into.days,
            into.counts,
            into.decimals,
        )
    )
    if row < 0:
        raise Refusal(_REFUSALS[row])
    return row


_POW10 = np.array([10**n for n in range(19)], np.int64)
_DAY_OPEN = b'{"day":"'
_DATA_OPEN = b'","data":{'
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
_ZERO, _NINE, _DASH, _POINT, _COMMA, _QUOTE, _BRACE = b'09-.,"}'

# The helpers take bytes and numbers, never an array: numba counts references to an array
# passed to a function with atomic operations, which cost more than the work done here.


@inline
def _digit(byte: int) -> int:
    """The digit ``byte`` stands for, or -1 if it is not a digit."""
    return int(byte) - _ZERO if _ZERO <= byte <= _NINE else -1


@inline
def _two_digits(tens: int, ones: int) -> int:
    """The number two bytes write, or -1 unless both are digits."""
    high, low = _digit(tens), _digit(ones)
    return -1 if high < 0 or low < 0 else high * 10 + low


@inline
def _days_since_epoch(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a date, or ``_BAD_DAY`` unless it is a real date of year 1 or
    later."""
    if year < 1 or month < 1 or month > 12 or day < 1:
        return _BAD_DAY
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day > _MONTH_DAYS[month] + (1 if leap and month == 2 else 0):
        return _BAD_DAY
    # H. Hinnant's days_from_civil: years counted from March, in eras of 400 years.
    year -= 1 if month <= 2 else 0
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    return int(era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719_468)


@compiled(
    "int64(Array(uint8, 1, 'C', readonly=True), int64[::1], int64[::1], int64[:, ::1],"
    " uint8[::1], int64[::1], int64, int32[::1], int64[:, ::1], int64[:, :, ::1])"
)
def _read(
    body: U8,
    starts: I64,
    ends: I64,
    fields: I64,
    literals: U8,
    per_ad: I64,
    row: int,
    days: NDArray[np.int32],
    counts: I64,
    decimals: I64,
) -> int:
    # Every list ends at a "]" (``ends`` points at it), which is no digit, comma or quote:
    # reading the byte at ``end`` stops a run of digits without a bound check per digit.
    # Positions are unsigned: numba checks a signed index for a negative value on each access.
    capacity = len(days)
    for ad in range(len(starts)):
        at, end = np.uint64(starts[ad]), np.uint64(ends[ad])
        first = row
        while at < end:
            if row > first:
                if body[at] != _COMMA:
                    return _BAD_RECORD
                at += np.uint64(1)
            if row == capacity:
                return _TOO_MANY
            # {"day":"yyyy-mm-dd","data":{
            if at + np.uint64(28) > end:
                return _BAD_RECORD
            for i in range(8):
                if body[at + np.uint64(i)] != _DAY_OPEN[i]:
                    return _BAD_RECORD
            at += np.uint64(8)
            century = _two_digits(body[at], body[at + np.uint64(1)])
            of_century = _two_digits(body[at + np.uint64(2)], body[at + np.uint64(3)])
            month = _two_digits(body[at + np.uint64(5)], body[at + np.uint64(6)])
            day = _two_digits(body[at + np.uint64(8)], body[at + np.uint64(9)])
            if body[at + np.uint64(4)] != _DASH or body[at + np.uint64(7)] != _DASH:
                return _BAD_DAY
            if century < 0 or of_century < 0 or month < 0 or day < 0:
                return _BAD_DAY
            days_since = _days_since_epoch(century * 100 + of_century, month, day)
            if days_since == _BAD_DAY:
                return _BAD_DAY
            days[row] = days_since
            at += np.uint64(10)
            for i in range(10):
                if body[at + np.uint64(i)] != _DATA_OPEN[i]:
                    return _BAD_RECORD
            at += np.uint64(10)
            for field in range(len(fields)):
                # The key (and a decimal's opening quote)
                length = np.uint64(fields[field, _LITERAL_LENGTH])
                if at + length > end:
                    return _BAD_RECORD
                literal = np.uint64(fields[field, _LITERAL_AT])
                for i in range(length):
                    if body[at + i] != literals[literal + i]:
                        return _BAD_RECORD
                at += length
                column = fields[field, _COLUMN]
                if fields[field, _IS_DECIMAL] == 0:
                    # A count: JSON's digits without a sign or a leading zero, at most 16.
                    value, digits = 0, np.uint64(0)
                    digit = _digit(body[at])
                    while digit >= 0:
                        value = value * 10 + digit
                        digits += np.uint64(1)
                        digit = _digit(body[at + digits])
                    if digits == 0 or digits > MOST_COUNT_DIGITS:
                        return _BAD_COUNT
                    if digits > 1 and body[at] == _ZERO:
                        return _BAD_COUNT
                    counts[column, row] = value
                    at += digits
                    continue
                # A decimal string: a sign, integer digits, a point, places; then its quote.
                negative = body[at] == _DASH
                if negative:
                    at += np.uint64(1)
                whole, digits = 0, np.uint64(0)
                digit = _digit(body[at])
                while digit >= 0:
                    whole = whole * 10 + digit
                    digits += np.uint64(1)
                    digit = _digit(body[at + digits])
                if digits == 0 or digits > fields[field, _WHOLE]:
                    return _BAD_DECIMAL
                at += digits
                if body[at] != _POINT:
                    return _BAD_DECIMAL
                at += np.uint64(1)
                scale = fields[field, _SCALE]
                fraction, places, past = 0, 0, 0
                digit = _digit(body[at])
                while digit >= 0:
                    if places < scale:
                        fraction = fraction * 10 + digit
                    elif places == scale:
                        past = digit
                    places += 1
                    digit = _digit(body[at + np.uint64(places)])
                if places == 0 or places > fields[field, _PLACES]:
                    return _BAD_DECIMAL
                at += np.uint64(places)
                if places < scale:
                    fraction *= _POW10[scale - places]
                units = whole * _POW10[scale] + fraction + (1 if past >= 5 else 0)
                # Only a rounded ratio can reach its precision (18 digits): as sent, the
                # patterns' digits fit.
                if fields[field, _ROUNDED] and units >= _POW10[18]:
                    return _AT_THE_EDGE
                if body[at] != _QUOTE:
                    return _BAD_RECORD
                at += np.uint64(1)
                decimals[column, row, 0] = -units if negative else units
                decimals[column, row, 1] = -1 if negative and units else 0
            if at + np.uint64(2) > end or body[at] != _BRACE or body[at + np.uint64(1)] != _BRACE:
                return _BAD_RECORD
            at += np.uint64(2)
            row += 1
        per_ad[ad] = row - first
    return row
