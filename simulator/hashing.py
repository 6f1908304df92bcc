"""Counter-based randomness: every simulated figure is a hash of its coordinates.

splitmix64 over (key, counter) arrays is vectorised, needs no RNG state and gives the same
value for the same coordinates in any order, so any slice of the data can be computed alone.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LANE_MASK = np.uint64(0xFFFF)


def splitmix64(x: U64) -> U64:
    """The splitmix64 finaliser, element-wise (uint64 arithmetic wraps on purpose)."""
    # In place: one array, not one per step. Integer arrays wrap without a warning.
    z = np.atleast_1d(x).astype(np.uint64) + _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def mix(a: U64 | int, b: U64 | int) -> U64:
    """Hash of the ordered pair (a, b), broadcasting arrays and scalars."""
    left = np.atleast_1d(np.asarray(a, dtype=np.uint64))
    right = np.atleast_1d(np.asarray(b, dtype=np.uint64))
    return splitmix64(left ^ splitmix64(right))


def lanes(h: U64) -> list[F64]:
    """Four uniforms in [0, 1) from one hash (16 bits each: plenty for noise); lane k is
    bits 16k to 16k + 15: the k-th 16-bit word of the hash stored little-endian."""
    words = np.asarray(h, dtype="<u8").view("<u2").reshape(*np.shape(h), 4)
    uniforms = words.astype(np.float64)
    uniforms *= 1.0 / 65536.0  # exact: a power of two
    return [uniforms[..., k] for k in range(4)]


def unit(h: U64) -> F64:
    """One uniform in [0, 1) with 53 bits from each hash."""
    result: F64 = (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return result


def text_key(*parts: object) -> int:
    """A stable 64-bit key for a tuple of values (unlike hash(), independent of the process)."""
    joined = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(joined, digest_size=8).digest(), "little")


def pick(options: tuple[str, ...], h: int) -> str:
    """One of ``options`` chosen by the hash ``h``."""
    return options[h % len(options)]
