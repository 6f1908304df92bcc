"""String columns of values repeated on many rows (an ad's names on each of its days), built
from their buffers by a compiled pass."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from allegro_resource.jit import compiled
from allegro_resource.stats_columns import MAX_STRING_BYTES, ad_index, per_ad


def repeated(values: Sequence[str | None], counts: Sequence[int]) -> pa.Array:
    """A string column holding ``values[i]`` ``counts[i]`` times, in order (None is null),
    built from its buffers by one compiled pass (the offsets and the bytes together)."""
    encoded = [b"" if value is None else value.encode() for value in values]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    repeats = np.asarray(counts, dtype=np.int64)
    rows, size = int(repeats.sum()), int((lengths * repeats).sum())
    if size > MAX_STRING_BYTES:
        return per_ad(values, ad_index(counts))  # Arrow's take reports what does not fit
    offsets = np.empty(rows + 1, dtype=np.int32)
    data = np.empty(size, dtype=np.uint8)
    _repeat(np.frombuffer(b"".join(encoded), np.uint8), lengths, repeats, offsets, data)
    validity = None
    if None in values:
        valid = np.repeat(np.fromiter((v is not None for v in values), bool, len(values)), repeats)
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), rows, buffers)


@compiled(
    "void(Array(uint8, 1, 'C', readonly=True), int64[::1], int64[::1], int32[::1], uint8[::1])"
)
def _repeat(
    joined: NDArray[np.uint8],
    lengths: NDArray[np.int64],
    repeats: NDArray[np.int64],
    offsets: NDArray[np.int32],
    data: NDArray[np.uint8],
) -> None:
    """Write each of the values joined in ``joined`` (``lengths`` long) ``repeats`` times into
    ``data``, and every row's offset into ``offsets``."""
    # Unsigned positions: numba checks a signed index for a negative one on every access,
    # which keeps the copy from being vectorised (ten times slower here).
    row, at, start = np.uint64(0), np.uint64(0), np.uint64(0)
    offsets[0] = 0
    for value in range(len(lengths)):
        length = np.uint64(lengths[value])
        for _ in range(repeats[value]):
            for i in range(length):
                data[at + i] = joined[start + i]
            at += length
            row += np.uint64(1)
            offsets[row] = at
        start += length
