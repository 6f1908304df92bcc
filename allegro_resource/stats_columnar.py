"""The statistics answer's day records read as columnar text: the first tier of
``stats_parse.parse_statistics``, for answers in the compact layout the simulator sends (no
whitespace, each ad type's keys in the order below). allegro-api.md does not document
Allegro's key order or whitespace: an answer in any other layout is read by the msgspec tier,
correctly and only slower.

Each ad's ``dayData`` list is cut out of the body (``_cut``) and msgspec reads what is left:
the document's structure and each ad's head (few per answer, free-form strings with
escapes). An ad type's records, joined with ",", are then read by numpy and Arrow, a few calls
per answer and none per row or per value:

- The skeleton: the text without its number bytes (digits and "-") must be the layout's
  record without its values (a decimal string's point kept: its integer part and its
  fraction are two tokens), once per record.
- The tokens: the bytes whose kind differs from the one before are each run's first byte and
  the byte after it; there must be one run per gap, each starting in its gap of the skeleton.
- The shapes: a day is ``dddd-dd-dd`` of a real date; the only other dashes are signs (a
  decimal's first byte), so every other byte of a token is a digit; a count has no leading
  zero and at most 16 digits; a decimal string at least one integer digit and no more
  integer digits or places than its pattern admits.
- The values: each run of digits is read eight at a time from the unaligned 64-bit word that
  ends where it ends (the bytes before it masked off, three multiply-shift steps); a decimal
  is its integer part times 10**scale plus its fraction, padded to the scale or, for a ratio
  with more places, rounded half away from zero by the next digit; the columns are built from
  their buffers (decimal128: the units and their sign, little-endian).

This tier accepts only what the strict pydantic pass accepts and builds the same table as
``stats_wire``'s msgspec tier. It is narrower than the wire format: on anything it does not
vouch for (another key order, whitespace, unknown keys, a decimal string without a point, a
count of more than 16 digits, a rounded ratio at the edge of its column) it raises
``WireRefused`` and the msgspec tier, then the strict pass, read or name the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from allegro_resource.ascii_digits import I64, MOST_DIGITS, days_since_epoch, digit_runs
from allegro_resource.scratch_arrays import positions, scratch, tiled
from allegro_resource.stats_columns import MAX_STRING_BYTES, METRICS, Metric, stats_table
from allegro_resource.stats_wire import AdHead, WireRefused, head_columns

# The key order of each ad type's ``data`` this tier reads (the simulator's; Allegro's own is
# not documented, and another order goes to the msgspec tier).
SPONSORED_KEYS = (
    "views", "clicks", "interest", "totalCost", "ctr", "totalAttributionCount",
    "totalAttributionValue", "effectiveCpc", "rateOfReturn",
)  # fmt: skip
GRAPHIC_KEYS = (
    "views", "clicks", "interest", "totalCost", "ctr", "totalAttributionCount",
    "totalAttributionValue", "effectiveCpm", "rateOfReturn", "uniqueReach",
    "attributedToCoreValue",
)  # fmt: skip

_POW10 = 10 ** np.arange(19, dtype=np.int64)
_DASH, _ZERO = ord("-"), ord("0")


class _HeadAd(AdHead):
    """An ad element whose ``dayData`` list was cut out: it holds the list's number instead."""

    dayData: list[int]


class _Heads(msgspec.Struct):
    sponsoredOffers: list[_HeadAd] = []
    graphicAds: list[_HeadAd] = []


_DECODER = msgspec.json.Decoder(_Heads)
_DAY_DATA = b'"dayData":['


@dataclass(frozen=True)
class _Layout:
    """One ad type's canonical day record: its skeleton (the record without its tokens, a
    decimal string's point kept between its two tokens), where each token goes in it, and
    the metric each token holds."""

    skeleton: bytes
    gaps: tuple[int, ...]  # the day's, then each count's, or decimal's integer part and fraction
    metrics: tuple[Metric, ...]
    counts: tuple[int, ...]  # the tokens of the counts, in the order of ``metrics``
    wholes: tuple[int, ...]  # the tokens of the decimals' integer parts (with the sign)
    fractions: tuple[int, ...]  # the tokens of the decimals' fractions

    @cached_property
    def scales(self) -> NDArray[np.int64]:
        """Each decimal's scale (of its column's type)."""
        return np.array([m.type.scale for m in self.metrics if m.pattern is not None])

    @cached_property
    def most_whole(self) -> NDArray[np.int64]:
        """The most integer digits each decimal's pattern admits."""
        return np.array([_digits(m)[0] for m in self.metrics if m.pattern is not None])

    @cached_property
    def most_places(self) -> NDArray[np.int64]:
        """The most decimal places each decimal's pattern admits."""
        return np.array([_digits(m)[1] for m in self.metrics if m.pattern is not None])


def _digits(metric: Metric) -> tuple[int, int]:
    """The most integer digits and decimal places ``metric``'s pattern admits."""
    whole, places = re.findall(r"\{1,(\d+)\}", metric.pattern or "")
    return int(whole), int(places)


def _layout(keys: tuple[str, ...]) -> _Layout:
    by_key = {metric.key: metric for metric in METRICS}
    skeleton, gaps = '{"day":"', [8]
    skeleton += '","data":{'
    counts, wholes, fractions = [], [], []
    for i, key in enumerate(keys):
        skeleton += ("," if i else "") + f'"{key}":'
        if by_key[key].pattern is None:
            counts.append(len(gaps))
            gaps.append(len(skeleton))
        else:
            wholes.append(len(gaps))
            gaps.append(len(skeleton) + 1)
            skeleton += '".'
            fractions.append(len(gaps))
            gaps.append(len(skeleton))
            skeleton += '"'
    skeleton += "}}"
    metrics = tuple(by_key[key] for key in keys)
    return _Layout(
        skeleton.encode(), tuple(gaps), metrics, tuple(counts), tuple(wholes), tuple(fractions)
    )


_LAYOUTS = (_layout(SPONSORED_KEYS), _layout(GRAPHIC_KEYS))


def decode_columnar(body: bytes, *, ads_client_id: str) -> pa.Table:
    """The statistics answer ``body`` as a ``STATS_SCHEMA`` table (sponsored offers first),
    if its day records are in the canonical layout; ``WireRefused`` otherwise."""
    heads, lists = _cut(body)
    try:
        document = _DECODER.decode(heads)
    except msgspec.DecodeError as exc:
        raise WireRefused(str(exc)) from None
    sections = [document.sponsoredOffers, document.graphicAds]
    # Every list cut out is one ad's dayData, in order: sponsored offers, then graphic ads.
    numbers = [ad.dayData for ad in [*sections[0], *sections[1]]]
    if numbers != [[n] for n in range(len(lists))]:
        raise WireRefused("a dayData list was not where the fast tier looked")
    split = len(sections[0])
    read = [
        _read_section(lists[:split], _LAYOUTS[0]),
        _read_section(lists[split:], _LAYOUTS[1]),
    ]
    ads = [*sections[0], *sections[1]]
    counts = [*read[0].counts, *read[1].counts]
    rows = [section.rows for section in read]
    arrays = head_columns(ads_client_id, ads, counts, rows)
    arrays["day"] = _day_column([section.days for section in read])
    for metric in METRICS:
        parts = [section.values.get(metric.key) for section in read]
        arrays[metric.column] = _metric_column(metric, parts, rows)
    return stats_table(arrays)


@dataclass
class _Section:
    """One ad type's rows: each ad's number of rows, the days (days since 1970-01-01) and each
    metric's values (counts, or decimals in units of 10**-scale of the metric's type)."""

    counts: list[int]
    rows: int
    days: I64
    values: dict[str, I64]


def _cut(body: bytes) -> tuple[bytes, list[memoryview]]:
    """``body`` with the text inside each ``"dayData":[...]`` replaced by the list's number
    (0, 1, ...), and those texts.

    In JSON, ``"dayData":[`` outside a string is a key and its list (a string cannot hold the
    second quote unescaped); the list ends at the first "]" if its records are in the
    canonical layout, which ``_tokens`` checks (a record there holds no "]"). A list cut
    anywhere else leaves the numbers out of order, or the heads not JSON: refused."""
    view = memoryview(body)
    pieces: list[bytes | memoryview] = []
    lists: list[memoryview] = []
    done = 0
    at = body.find(_DAY_DATA)
    while at >= 0:
        first = at + len(_DAY_DATA)
        end = body.find(b"]", first)
        if end < 0:
            raise WireRefused("a dayData list does not end")
        pieces += (view[done:first], b"%d" % len(lists))
        lists.append(view[first:end])
        done = end
        at = body.find(_DAY_DATA, end)
    pieces.append(view[done:])
    return b"".join(pieces), lists


def _read_section(lists: list[memoryview], layout: _Layout) -> _Section:
    """The day records of one ad type's lists (each ad's, without its brackets), checked
    against ``layout`` and converted."""
    text = b",".join([records for records in lists if records])
    # Each ad's part of the text: its records and the "," after them (none if it has none).
    lengths = [len(records) + 1 if records else 0 for records in lists]
    if len(text) > MAX_STRING_BYTES:
        raise WireRefused("the day records do not fit one Arrow array")
    tokens = _tokens(text, layout)
    rows = len(tokens.starts)
    # Each ad's rows: the records that start within its part of the text.
    bounds = np.cumsum(np.asarray([0, *lengths], dtype=np.int64)[:-1])
    firsts = np.searchsorted(tokens.starts[:, 0] - 8, bounds)
    counts = np.diff(np.append(firsts, rows)).tolist()
    days, values = _values(text, tokens, layout)
    keys = [metric.key for metric in layout.metrics]
    return _Section(counts, rows, days, dict(zip(keys, values, strict=True)))


@dataclass
class _Tokens:
    """Each token's start and end in the text (rows by tokens) and how many dashes the text
    holds."""

    starts: I64
    ends: I64
    dashes: int


def _tokens(text: bytes, layout: _Layout) -> _Tokens:
    """The tokens of ``text`` (records joined by ","): its runs of number bytes (digits and
    "-"); ``WireRefused`` unless the rest is the layout's skeleton once per record and each
    gap of it holds one run."""
    width = len(layout.gaps)
    if not text:
        empty = np.zeros((0, width), np.int64)
        return _Tokens(empty, empty, 0)
    stride = len(layout.skeleton) + 1
    data = np.frombuffer(text, dtype=np.uint8)
    size = len(data)
    # Scratch arrays the text's size, kept by each thread: a fresh one per answer costs more
    # in page faults than the work done in it.
    is_char = np.less(
        np.subtract(data, np.uint8(_ZERO), out=scratch("a", size, np.uint8)),
        10,
        out=scratch("b", size, np.bool_),
    )
    dash = np.equal(data, _DASH, out=scratch("a", size, np.bool_))
    dashes = int(np.count_nonzero(dash))
    np.logical_or(is_char, dash, out=is_char)
    if is_char[0] or is_char[-1]:
        raise WireRefused("the day records are not in the canonical layout")
    other = np.logical_not(is_char, out=dash)
    skeleton = _selected(pa.py_buffer(text), other, pa.uint8())
    rows, extra = divmod(len(skeleton) + 1, stride)
    # (the skeleton is one byte shorter than ``rows`` records and commas: equal, or refused)
    if extra or not tiled(layout.skeleton, rows).startswith(skeleton):
        raise WireRefused("the day records are not in the canonical layout")
    # The bytes that differ in kind from the one before: each run's first byte and the byte
    # after it, alternately (the text starts and ends with the skeleton).
    edges = scratch("c", size, np.bool_)
    np.not_equal(is_char[1:], is_char[:-1], out=edges[1:])
    edges[0] = False
    selected = np.frombuffer(_selected(positions(size), edges, pa.int32()), np.int32)
    if len(selected) != rows * 2 * width:
        raise WireRefused("a gap of the layout holds no token, or more than one")
    marks = selected.reshape(rows, 2 * width).astype(np.int64)
    starts, ends = marks[:, 0::2], marks[:, 1::2]
    # A token's start less the number bytes before it is its place in the skeleton: its gap.
    lengths = (ends - starts).ravel()
    before = np.cumsum(lengths) - lengths
    expected = np.arange(0, rows * stride, stride, dtype=np.int64)[:, None] + layout.gaps
    if not np.array_equal(starts.ravel() - before, expected.ravel()):
        raise WireRefused("a token is not in its gap of the layout")
    return _Tokens(starts, ends, dashes)


def _selected(values: pa.Buffer, chosen: NDArray[np.bool_], type_: pa.DataType) -> memoryview:
    """The items of ``values`` (of ``type_``) where ``chosen``, as one buffer: Arrow's filter,
    which skips runs of unchosen bits a word at a time (numpy's takes each byte)."""
    count = len(chosen)
    array = pa.Array.from_buffers(type_, count, [None, values])
    bits = pa.py_buffer(np.packbits(chosen, bitorder="little"))
    mask = pa.Array.from_buffers(pa.bool_(), count, [None, bits])
    kept = pc.call_function("filter", [array, mask], memory_pool=_POOL)
    size = len(kept) * type_.bit_width // 8
    return memoryview(kept.buffers()[1])[kept.offset * type_.bit_width // 8 :][:size]


# Arrow's default pool (mimalloc in the Linux wheels) hands big short-lived buffers back to the
# system and faults them in again for the next answer (as in simulator/json_rows.py).
_POOL = pa.system_memory_pool()


def _values(text: bytes, tokens: _Tokens, layout: _Layout) -> tuple[I64, list[I64]]:
    """The days (days since 1970-01-01) and each metric's values, once every token has its
    shape (else ``WireRefused``)."""
    data = np.frombuffer(text, dtype=np.uint8)
    starts, ends = tokens.starts, tokens.ends
    rows = len(starts)
    counts, wholes, fractions = layout.counts, layout.wholes, layout.fractions
    if rows == 0:
        return np.zeros(0, np.int64), [np.zeros(0, np.int64) for _ in layout.metrics]
    day = starts[:, 0]
    signed = data[starts[:, wholes]] == _DASH
    # The dashes are the days' two and the signs (a decimal's first byte): every other byte
    # of a token is a digit.
    if not (
        np.array_equal(ends[:, 0], day + 10)
        and bool(np.all(data[day + 4] == _DASH))
        and bool(np.all(data[day + 7] == _DASH))
        and tokens.dashes == 2 * rows + np.count_nonzero(signed)
    ):
        raise WireRefused("a day, or a token, does not have its shape")
    count_lengths = ends[:, counts] - starts[:, counts]
    if np.any(count_lengths > MOST_DIGITS) or np.any(
        (data[starts[:, counts]] == _ZERO) & (count_lengths > 1)
    ):
        raise WireRefused("a count has a leading zero or more digits than this tier reads")
    whole = ends[:, wholes] - starts[:, wholes] - signed
    places = ends[:, fractions] - starts[:, fractions]
    if (
        np.any(whole < 1)
        or np.any(whole > layout.most_whole)
        or np.any(places > layout.most_places)
    ):
        raise WireRefused("a decimal string has no integer digit, or more than it admits")
    # The digit runs read as integers: each count; each decimal's integer part, and its
    # fraction up to one place past the scale (all a rounding needs).
    read = np.minimum(places, layout.scales + 1)
    runs = digit_runs(
        text,
        np.concatenate([ends[:, counts], ends[:, wholes], starts[:, fractions] + read], axis=1),
        np.concatenate([count_lengths, whole, read], axis=1),
    )
    values: list[I64] = []
    count, decimal = 0, 0
    for metric in layout.metrics:
        if metric.pattern is None:
            values.append(runs[:, count])
            count += 1
        else:
            units = _units(
                metric,
                runs[:, len(counts) + decimal],
                runs[:, len(counts) + len(wholes) + decimal],
                read[:, decimal],
            )
            values.append(np.where(signed[:, decimal], -units, units))
            decimal += 1
    try:
        days = days_since_epoch(data, day)
    except ValueError as exc:
        raise WireRefused(str(exc)) from None
    return days, values


def _units(metric: Metric, whole: I64, fraction: I64, places: I64) -> I64:
    """|value| in units of 10**-scale of ``metric``'s type: the integer part, then the
    fraction's ``places`` digits padded to the scale or (one place past it, a rounded ratio)
    rounded half away from zero by that place."""
    scale = metric.type.scale
    units: I64 = whole * _POW10[scale]
    if np.all(places == scale):  # as sent by the simulator, and by Allegro as far as seen
        units += fraction  # the patterns' digits fit the column's precision: no check
        return units
    past = places > scale
    fraction = np.where(past, fraction // 10 + (fraction % 10 >= 5), fraction)
    units += fraction * _POW10[np.maximum(scale - places, 0)]
    if metric.rounded and np.any(units >= 10**metric.type.precision):
        raise WireRefused(f"a rounded {metric.key} value is at the edge of its column")
    return units


def _day_column(parts: list[I64]) -> pa.Array:
    """The day column from each section's days since 1970-01-01."""
    days = np.concatenate(parts).astype(np.int32)
    return pa.Array.from_buffers(pa.date32(), len(days), [None, pa.py_buffer(days)])


def _metric_column(metric: Metric, parts: list[I64 | None], rows: list[int]) -> pa.Array:
    """``metric``'s column from each section's values (None: a section without the metric,
    null on its rows), built from its buffers: int64, or decimal128 as 16 bytes per value
    (little-endian two's complement: the units, then their sign extended)."""
    pairs = list(zip(parts, rows, strict=True))
    values = np.concatenate([np.zeros(n, np.int64) if p is None else p for p, n in pairs])
    validity = None
    if any(p is None for p in parts):
        valid = np.concatenate([np.full(n, p is not None) for p, n in pairs])
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    if pa.types.is_decimal(metric.type):
        wide = np.empty((len(values), 2), dtype=np.int64)
        wide[:, 0] = values
        wide[:, 1] = values >> 63
        values = wide
    return pa.Array.from_buffers(metric.type, len(values), [validity, pa.py_buffer(values)])
