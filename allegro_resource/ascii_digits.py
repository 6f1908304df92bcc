"""Integers and dates read from ASCII digits in a byte text, many at once with numpy: no Python
object per value (the columnar statistics tier's arithmetic)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
_ZERO = ord("0")

_LOW_NIBBLES = np.uint64(0x0F0F0F0F0F0F0F0F)
# Item n: a mask of the top n bytes of a little-endian uint64 (the last n bytes read).
_TOP_BYTES = np.array([(2**64 - 1) ^ ((1 << 8 * (8 - n)) - 1) for n in range(9)], dtype=np.uint64)
MOST_DIGITS = 16  # two words of eight


def digit_runs(text: bytes, ends: I64, lengths: I64) -> I64:
    """The integers written by the runs of digits of ``text`` ending at ``ends``, ``lengths``
    long (1 to 16 digits, or 0: the integer 0): eight digits at a time from the unaligned
    little-endian word ending at the run's end, the bytes before the run masked off, combined
    by three multiply-shift steps (pairs, quads, eights) without a Python object per value."""
    if ends.size == 0:
        return np.zeros(ends.shape, np.int64)
    words = np.ndarray((len(text) - 7,), dtype="<u8", buffer=text, strides=(1,))
    low = _eight_digits(words[ends - 8] & _TOP_BYTES[np.minimum(lengths, 8)])
    if not np.any(lengths > 8):
        return low.view(np.int64)
    high_lengths = np.maximum(lengths - 8, 0)
    high = _eight_digits(words[np.maximum(ends - 16, 0)] & _TOP_BYTES[high_lengths])
    return (high * np.uint64(10**8) + low).view(np.int64)


def _eight_digits(words: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Eight ASCII digits per word (the first in the lowest byte; a masked byte reads as 0)
    as their integer."""
    words &= _LOW_NIBBLES
    words = (words * np.uint64(10) + (words >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    words = (words * np.uint64(100) + (words >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    return (words * np.uint64(10000) + (words >> np.uint64(32))) & np.uint64(0xFFFFFFFF)


def days_since_epoch(data: NDArray[np.uint8], starts: I64) -> I64:
    """Days since 1970-01-01 of the days "yyyy-mm-dd" at ``starts`` (digits where digits go),
    once each is a real date: month 1 to 12, day 1 to the month's length, year 1 or later
    (else ``ValueError``)."""
    year, month, day = (
        _two_digits(data, starts) * 100 + _two_digits(data, starts + 2),
        _two_digits(data, starts + 5),
        _two_digits(data, starts + 8),
    )
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    lengths = _MONTH_DAYS[np.minimum(month, 12)] + (leap & (month == 2))
    if (
        np.any(year < 1)
        or np.any((month < 1) | (month > 12))
        or np.any((day < 1) | (day > lengths))
    ):
        raise ValueError("a day is not a real date")
    # Days from the civil date (H. Hinnant's days_from_civil: years from March, eras of 400).
    year = year - (month <= 2)
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    of_era_days = of_era * 365 + of_era // 4 - of_era // 100 + of_year
    days: I64 = era * 146_097 + of_era_days - 719_468
    return days


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _two_digits(data: NDArray[np.uint8], at: I64) -> I64:
    """The two digits at ``at`` as integers."""
    tens: I64 = data[at].astype(np.int64) * 10 + data[at + 1] - 11 * _ZERO
    return tens
