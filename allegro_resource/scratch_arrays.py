"""Arrays kept between answers, per thread or per process: reading a 1 MB answer into fresh
arrays costs more in page faults than the work done in them, so the columnar tier reuses
these, grown by doubling up to ``MOST_KEPT`` items."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

# The most items a kept array (scratch, positions, skeleton tile) grows to: the texts of a
# 31-day window are ~1 MB; a far larger answer gets arrays of its own, dropped after it.
MOST_KEPT = 1 << 24


class _Scratch(threading.local):
    """Each thread's scratch arrays, by name."""

    def __init__(self) -> None:
        self.arrays: dict[str, NDArray[np.uint8]] = {}


_SCRATCH = _Scratch()


def scratch(name: str, size: int, dtype: type[np.generic]) -> np.ndarray[Any, Any]:
    """This thread's scratch array ``name``: ``size`` items of a one-byte ``dtype`` (kept as
    bytes, grown by doubling)."""
    if size > MOST_KEPT:
        return np.empty(size, dtype)
    held = _SCRATCH.arrays.get(name)
    if held is None or len(held) < size:
        held = np.empty(max(size, 2 * (0 if held is None else len(held))), np.uint8)
        _SCRATCH.arrays[name] = held
    return held[:size].view(dtype)


_POSITIONS: list[pa.Buffer] = [pa.py_buffer(np.arange(1 << 16, dtype=np.int32))]


def positions(count: int) -> pa.Buffer:
    """A buffer of int32 0, 1, 2, ... of at least ``count`` items (kept, grown by doubling)."""
    if count > MOST_KEPT:
        return pa.py_buffer(np.arange(count, dtype=np.int32))
    held = _POSITIONS[-1]
    if held.size // 4 < count:
        held = pa.py_buffer(np.arange(1 << max(count - 1, 1).bit_length(), dtype=np.int32))
        _POSITIONS.append(held)  # a list: threads may race here, each keeps a good buffer
        del _POSITIONS[:-1]
    return held


_TILES: dict[bytes, bytes] = {}


def tiled(skeleton: bytes, rows: int) -> bytes:
    """At least ``rows`` times the skeleton followed by "," (kept per layout, grown by
    doubling: a compare reads only the prefix it needs)."""
    if rows * (len(skeleton) + 1) > MOST_KEPT:
        return (skeleton + b",") * rows
    held = _TILES.get(skeleton, b"")
    if len(held) < rows * (len(skeleton) + 1):
        held = (skeleton + b",") * (1 << max(rows - 1, 1).bit_length())
        _TILES[skeleton] = held  # threads may race here: each keeps a good tile
    return held
