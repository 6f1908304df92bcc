"""Many JSON objects of one shape rendered at once, by numpy and one Arrow ``take``.

The day objects of a statistics answer all read the same except for their numbers::

    {"day":"2026-01-05","data":{"views":1234,"clicks":7,"totalCost":"12.34",...}},

``render_rows`` lays the rows out as one byte matrix, a row per object, built from column
blocks: the literal text (the same bytes in every row, copied from a template row), fixed-width
text (the day), and for each number a slot as wide as its largest value needs, holding the
digits right-aligned, zero-padded on the left::

    {"day":"2026-01-05","data":{"views":00001234,"clicks":0007,"totalCost":"0012.34",...
                                        ^^^^              ^^^               ^^

A row's text is its matrix row without the unused left part of each slot (marked ^). As the
digits are right-aligned, every slot's kept part runs on into the text after it, so a row is a
few contiguous byte ranges of the matrix: from each slot's first kept byte to the next slot.
The rows' texts back to back are those ranges, in order; Arrow's ``take`` on a binary array
whose offsets are the range boundaries (kept ranges and skipped gaps alternating) copies the
kept ones into one buffer, without a Python object per row or per number. A number with as
many digits in every row (a ratio's "0", a count below 10) gets a slot just that wide and no
gap at all.

Digits are written four at a time from a table of "0000" to "9999"; a decimal is an integer in
units of 10**-scale with its point put in (1234 at scale 2 is "12.34"; 5 is "0.05"), exactly as
Arrow casts decimal128 to a string. Negative numbers get a "-" before their first digit.

Every step is one numpy call over all rows and all numbers at once where it can be: a 31-day
window has a few thousand rows, so the calls' own cost counts as much as the work they do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

I64 = NDArray[np.int64]
I32 = NDArray[np.int32]
U8 = NDArray[np.uint8]
Items = NDArray[np.void]  # one item of a few bytes per row, written with ``_write``

_GROUP = 10_000  # digits are written four at a time
# "0000", "0001", ..., "9999" as four bytes each (viewed as one uint32 to take by value).
_FOUR_DIGITS: NDArray[np.uint32] = np.frombuffer(
    "".join(f"{i:04d}" for i in range(_GROUP)).encode(), dtype=np.uint32
)
_V4 = np.dtype("V4")
_MINUS = ord("-")
# The kept bytes are allocated with malloc: Arrow's default pool (mimalloc in the Linux wheels)
# hands each big, short-lived buffer back to the system and faults it in again for the next
# answer, which made the take several times slower (0.7 µs a row against 0.1).
_TAKE_POOL = pa.system_memory_pool()
_TRUSTED = pc.TakeOptions(boundscheck=False)  # the indices are made here, in range


@dataclass(frozen=True)
class Number:
    """A JSON number (``scale`` 0) or the digits of a decimal in units of 10**-``scale``
    (1234 at scale 2 is 12.34); the quotes around a decimal string are literal text."""

    values: I64
    scale: int = 0


@dataclass(frozen=True)
class Text:
    """Text of the same width in every row, chosen by ``index`` from the rows of ``table``
    (e.g. the day: one row per day of the window)."""

    table: U8  # options by width
    index: I64


@dataclass(frozen=True)
class Omitted:
    """``pieces`` (literal bytes and numbers, ending with a number) written only in the rows
    where ``present`` is True and left out of the others: a member that only some kinds of
    rows carry (a graphic ad's ``uniqueReach``, say), so that rows of every kind are rendered
    in one pass. In the rows without it, each number's slot and the literal text before it
    are one more gap; its numbers' values there are not written and may be anything."""

    present: NDArray[np.bool_]
    pieces: tuple[bytes | Number, ...]


Piece = bytes | Text | Number | Omitted


@dataclass(frozen=True)
class RenderedRows:
    """The rows' texts back to back; row ``i`` is ``text[starts[i]:starts[i + 1]]``."""

    text: memoryview
    starts: I64


@dataclass(slots=True)
class _Slot:
    """A number's place in the row: its bytes in the template (placeholders, and the point of
    a decimal), the digits written over them, and how many leading bytes each row leaves
    unused."""

    template: bytes
    writes: list[tuple[int, Items]]  # (offset in the slot, one item per row)
    unused: I32 | None  # None: every row uses the whole slot
    negative: I64 | None  # rows whose number is negative


def render_rows(pieces: Sequence[Piece], count: int) -> RenderedRows:
    """Render ``count`` rows, each the concatenation of ``pieces`` (literal bytes, fixed-width
    ``Text``, a ``Number`` slot, or ``Omitted`` pieces) for that row."""
    if count == 0:
        return RenderedRows(memoryview(b""), np.zeros(1, dtype=np.int64))
    flat = _flattened(pieces)
    slots = iter(_number_slots([p for p, _ in flat if isinstance(p, Number)]))
    template = bytearray()
    texts: list[tuple[int, Text]] = []
    numbers: list[tuple[int, _Slot, tuple[int, NDArray[np.bool_]] | None]] = []
    dropped_from = 0  # where the omissible text before the next number starts
    for piece, omitted in flat:
        if omitted is None:
            dropped_from = -1
        elif dropped_from < 0:
            dropped_from = len(template)
        if isinstance(piece, Number):
            slot = next(slots)
            drop = None if omitted is None else (len(template) - dropped_from, omitted)
            numbers.append((len(template), slot, drop))
            template += slot.template
            dropped_from = len(template)
        elif isinstance(piece, Text):
            texts.append((len(template), piece))
            template += bytes(piece.table.shape[1])
        else:
            template += piece
    matrix = _filled_matrix(np.frombuffer(bytes(template), dtype=np.uint8), texts, count)
    gaps: list[tuple[int, I32]] = []
    moved: dict[int, tuple[int, NDArray[np.bool_]]] = {}  # gaps starting before their slot
    for column, slot, drop in numbers:
        for offset, items in slot.writes:
            _write(matrix, column + offset, items)
        if slot.negative is not None:  # "-" as the first byte kept, before the digits
            assert slot.unused is not None
            matrix[slot.negative, column + slot.unused[slot.negative]] = _MINUS
        if drop is not None:
            # Rows without the member skip the text before the slot and the whole slot.
            before, absent = drop[0], ~drop[1]
            used = slot.unused if slot.unused is not None else np.zeros(count, np.int32)
            gaps.append((column, np.where(absent, before + len(slot.template), used)))
            moved[len(gaps) - 1] = (before, absent)
        elif slot.unused is not None:
            gaps.append((column, slot.unused))
    starts = np.zeros(count + 1, dtype=np.int64)
    if not gaps:
        np.cumsum(np.full(count, len(template), dtype=np.int64), out=starts[1:])
        return RenderedRows(matrix.data.cast("B"), starts)
    unused = np.array([slot_unused for _, slot_unused in gaps]).T  # rows by slots
    np.cumsum(len(template) - unused.sum(axis=1), out=starts[1:])
    columns = np.array([column for column, _ in gaps], dtype=np.int32)
    return RenderedRows(_kept_bytes(matrix, columns, moved, unused, int(starts[-1])), starts)


def _flattened(
    pieces: Sequence[Piece],
) -> list[tuple[bytes | Text | Number, NDArray[np.bool_] | None]]:
    """The pieces with ``Omitted`` ones spread out, each with the rows that carry it (None:
    every row)."""
    flat: list[tuple[bytes | Text | Number, NDArray[np.bool_] | None]] = []
    for piece in pieces:
        if isinstance(piece, Omitted):
            if not piece.pieces or not isinstance(piece.pieces[-1], Number):
                raise ValueError("omitted pieces must end with a number")
            flat += [(inner, piece.present) for inner in piece.pieces]
        else:
            flat.append((piece, None))
    return flat


def _filled_matrix(template: U8, texts: list[tuple[int, Text]], count: int) -> U8:
    """``count`` copies of the template row with each row's texts written in. The first text
    is written into one template per option (a day, say), and each row starts as a copy of
    its option's template; the others are written row by row."""
    if not texts:
        return np.tile(template, (count, 1))
    (column, first), others = texts[0], texts[1:]
    options = np.tile(template, (len(first.table), 1))
    options[:, column : column + first.table.shape[1]] = first.table
    matrix: U8 = np.take(options, first.index, axis=0)
    for column, text in others:
        items = np.ascontiguousarray(text.table).view(f"V{text.table.shape[1]}").ravel()
        _write(matrix, column, np.take(items, text.index))
    return matrix


def _write(matrix: U8, column: int, items: Items) -> None:
    """matrix[:, column:column + item size] = items, as one copy of ``len(items)`` items
    (numpy copies a two-dimensional block of a few bytes a row several times slower)."""
    rows, width = matrix.shape
    target = np.ndarray((rows,), items.dtype, matrix, column, (width,))
    target[...] = items


def _kept_bytes(
    matrix: U8,
    columns: I32,
    moved: dict[int, tuple[int, NDArray[np.bool_]]],
    unused: I32,
    size: int,
) -> memoryview:
    """The matrix's bytes without the gaps of each row: ``unused[row, slot]`` bytes from
    ``columns[slot]`` (the unused left part of a number slot), or for the slots in ``moved``
    from ``before`` bytes earlier in the ``absent`` rows (an omitted member's text and slot),
    ``size`` bytes in all.

    The gaps [column, column + unused) of every row cut the matrix into kept ranges and gaps,
    alternating; as the offsets of an Arrow binary array, Arrow's ``take`` of every other
    element copies the kept ranges into one buffer."""
    count, width = matrix.shape
    # 32-bit offsets (and indices) when they fit: half the bytes to write and read per range.
    small = count * width < 2**31
    offset = np.int32 if small else np.int64
    boundaries = np.empty(2 * unused.size + 2, dtype=offset)
    boundaries[0], boundaries[-1] = 0, count * width
    starts = boundaries[1:-1:2].reshape(unused.shape)  # views: the gaps' starts and ends
    ends = boundaries[2:-1:2].reshape(unused.shape)
    np.add(np.arange(0, count * width, width, dtype=offset)[:, None], columns, out=starts)
    for slot, (before, absent) in moved.items():
        np.subtract(starts[:, slot], before, out=starts[:, slot], where=absent)
    np.add(starts, unused, out=ends)
    kind = pa.binary() if small else pa.large_binary()
    ranges = pa.Array.from_buffers(
        kind, len(boundaries) - 1, [None, pa.py_buffer(boundaries), pa.py_buffer(matrix)]
    )
    indices = _every_other(unused.size + 1, small)
    kept = pc.call_function("take", [ranges, indices], _TRUSTED, _TAKE_POOL)
    return memoryview(kept.buffers()[2])[:size]


def _every_other(count: int, small: bool) -> pa.Array:
    """0, 2, 4, ... (``count`` of them, 32-bit if ``small``): a slice of a kept array (up to
    a million of them)."""
    if count > _KEPT_EVEN_NUMBERS:
        return pa.array(np.arange(0, 2 * count, 2, dtype=np.int32 if small else np.int64))
    return _even_numbers(1 << (count - 1).bit_length(), small).slice(0, count)


_KEPT_EVEN_NUMBERS = 2**20


@cache
def _even_numbers(count: int, small: bool) -> pa.Array:
    return pa.array(np.arange(0, 2 * count, 2, dtype=np.int32 if small else np.int64))


def _number_slots(numbers: list[Number]) -> list[_Slot]:
    """Each number's slot: its digits right-aligned, as wide as its widest value needs.
    The digits of all numbers are computed together, a few numpy calls for all of them, the
    numbers ordered by scale so that each scale's rows are divided by one constant."""
    order = sorted(range(len(numbers)), key=lambda i: numbers[i].scale)
    slots = dict(zip(order, _slots_by_scale([numbers[i] for i in order]), strict=True))
    return [slots[i] for i in range(len(numbers))]


def _slots_by_scale(numbers: list[Number]) -> list[_Slot]:
    """``_number_slots`` of numbers ordered by scale."""
    if not numbers:
        return []
    values = np.array([number.values for number in numbers], dtype=np.int64)  # numbers, rows
    lows, highs = values.min(axis=1).tolist(), values.max(axis=1).tolist()
    signed = [low < 0 for low in lows]
    negative = values < 0 if any(signed) else None
    magnitude = values if negative is None else np.abs(values)
    whole = magnitude if numbers[-1].scale == 0 else np.empty_like(magnitude)
    fractions: dict[int, list[tuple[int, Items]]] = {}  # digits after the point, by number
    for scale, first, stop in _runs([number.scale for number in numbers]):
        if scale == 0 and whole is not magnitude:
            whole[first:stop] = magnitude[first:stop]
        elif scale:
            whole[first:stop] = _quotient(magnitude[first:stop], 10**scale)
            fraction = magnitude[first:stop] - whole[first:stop] * 10**scale
            padded = _padded(fraction, scale)
            for i in range(first, stop):
                fractions[i] = [(at, items[i - first]) for at, items in padded]
    digits = [
        (len(str(abs(low) // 10**number.scale)), len(str(max(-low, high) // 10**number.scale)))
        for low, high, number in zip(lows, highs, numbers, strict=True)
    ]
    needed = [-(-most // 4) for _, most in digits]
    groups = _groups(whole, max(needed))  # groups of four digits, numbers, rows
    quads = np.take(_FOUR_DIGITS, groups).view(_V4)
    # A number with as many digits in every row needs no unused bytes (the commonest case:
    # a ratio's "0", a count of 0 to 9): its top group is written just as wide. Otherwise
    # its width is the groups it needs, and a column for "-" if any is negative.
    fixed = [
        fewest == most and not sign for (fewest, most), sign in zip(digits, signed, strict=True)
    ]
    widths = [
        most if fixed[i] else int(signed[i]) + 4 * needed[i] for i, (_, most) in enumerate(digits)
    ]
    # int32: the gaps' ends are written as 32-bit offsets (see ``_kept_bytes``).
    unused = None if all(fixed) else np.array(widths, np.int32)[:, None] - _digit_counts(groups)
    if unused is not None and negative is not None:
        unused -= negative
    slots = []
    for i, (width, number) in enumerate(zip(widths, numbers, strict=True)):
        first = len(groups) - needed[i]
        writes = [(width - 4 * (needed[i] - k), quads[first + k, i]) for k in range(needed[i])]
        if fixed[i]:  # the top group only as wide as it is
            top = width - 4 * (needed[i] - 1)
            writes[0] = (0, np.take(_digit_table(top), groups[first, i]))
        writes += [(width + 1 + at, items) for at, items in fractions.get(i, [])]
        point_and_fraction = b"." + b"0" * number.scale if number.scale else b""
        rows = None if negative is None or not signed[i] else np.flatnonzero(negative[i])
        gap = None if fixed[i] or unused is None else unused[i]
        slots.append(_Slot(b"-" * width + point_and_fraction, writes, gap, rows))
    return slots


def _runs(keys: list[int]) -> list[tuple[int, int, int]]:
    """(key, first, stop) of each run of equal keys."""
    runs: list[tuple[int, int, int]] = []
    for i, key in enumerate(keys):
        if runs and runs[-1][0] == key:
            runs[-1] = (key, runs[-1][1], i + 1)
        else:
            runs.append((key, i, i + 1))
    return runs


def _quotient(values: I64, divisor: int) -> I64:
    """values // divisor for non-negative values, divided as unsigned integers (numpy divides
    those by a constant about twice as fast)."""
    quotient: I64 = (values.view(np.uint64) // np.uint64(divisor)).view(np.int64)
    return quotient


def _groups(values: I64, count: int) -> I64:
    """Non-negative ``values`` in base 10,000: ``count`` groups of four digits, most
    significant first, along a new first axis (so each group of each value row is contiguous)."""
    if count == 1:
        return values[None]
    groups = np.empty((count, *values.shape), dtype=np.int64)
    rest = values
    for k in range(count - 1, 0, -1):
        quotient = _quotient(rest, _GROUP)
        np.subtract(rest, quotient * _GROUP, out=groups[k])
        rest = quotient
    groups[0] = rest
    return groups


def _digit_counts(groups: I64) -> NDArray[np.uint8]:
    """How many digits the numbers of ``_groups`` have, written without leading zeros: the
    largest over their groups of ``_count_table(k)[group k from the right]``."""
    counts: NDArray[np.uint8] = np.take(_count_table(0), groups[-1])
    for k in range(1, len(groups)):
        np.maximum(counts, np.take(_count_table(k), groups[-1 - k]), out=counts)
    return counts


@cache
def _count_table(k: int) -> NDArray[np.uint8]:
    """Item g: the digit count of a number whose k-th group of four from the right is g and
    whose higher groups are 0 (group 0 alone: 0 is written "0", one digit)."""
    lengths = np.array([len(str(g)) for g in range(_GROUP)], dtype=np.uint8)
    if k == 0:
        return lengths
    table: NDArray[np.uint8] = np.where(np.arange(_GROUP) > 0, 4 * k + lengths, 0).astype(np.uint8)
    return table


def _padded(values: I64, width: int) -> list[tuple[int, Items]]:
    """Non-negative integers below 10**width as ``width`` zero-padded digits: (offset, items)
    for each group of up to four digits, the shortest (most significant) group first."""
    groups = _groups(values, -(-width // 4))
    head = width - 4 * (len(groups) - 1)
    return [(0, np.take(_digit_table(head), groups[0]))] + [
        (head + 4 * k, np.take(_FOUR_DIGITS, group).view(_V4)) for k, group in enumerate(groups[1:])
    ]


@cache
def _digit_table(width: int) -> Items:
    """Item i: i as ``width`` zero-padded digits (for width 1 to 4), one void item each."""
    table = _FOUR_DIGITS[: 10**width].view(np.uint8).reshape(-1, 4)
    return np.ascontiguousarray(table[:, 4 - width :]).view(f"V{width}").ravel()
