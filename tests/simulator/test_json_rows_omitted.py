"""``render_rows`` leaves an ``Omitted`` member out of the rows that do not carry it: those
rows read as if its pieces were not there, the others as if they were plain pieces."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from simulator.json_rows import Number, Omitted, Piece, render_rows


def _texts(pieces: list[Piece], count: int) -> list[bytes]:
    rendered = render_rows(pieces, count)
    starts = rendered.starts.tolist()
    assert len(rendered.text) == starts[-1]
    return [bytes(rendered.text[a:b]) for a, b in pairwise(starts)]


def test_rows_without_the_member_skip_its_text_and_numbers() -> None:
    present = np.array([True, False, True, False])
    a = np.array([5, 1234, -7, 0], dtype=np.int64)
    b = np.array([-123456, 99, 1, 10**9], dtype=np.int64)  # absent rows' values: anything
    c = np.array([250, 3, 9, 99999], dtype=np.int64)
    pieces: list[Piece] = [
        b'{"a":', Number(a),
        Omitted(present, (b',"b":"', Number(b, 2), b'","c":', Number(c))),
        b"},",
    ]  # fmt: skip
    assert _texts(pieces, 4) == [
        b'{"a":5,"b":"-1234.56","c":250},',
        b'{"a":1234},',
        b'{"a":-7,"b":"0.01","c":9},',
        b'{"a":0},',
    ]


def test_a_member_of_constant_width_is_left_out_too() -> None:
    present = np.array([False, True, False])
    pieces: list[Piece] = [
        b"<", Number(np.array([1, 22, 333])),
        Omitted(present, (b"|", Number(np.array([7, 8, 9])))),
        b">",
    ]  # fmt: skip
    assert _texts(pieces, 3) == [b"<1>", b"<22|8>", b"<333>"]


def test_omitted_pieces_end_with_a_number() -> None:
    with pytest.raises(ValueError, match="end with a number"):
        render_rows([Omitted(np.array([True]), (Number(np.array([1])), b"x"))], 1)
