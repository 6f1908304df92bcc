"""The statistics answer rendered by ``json_rows`` is byte for byte what a plain rendering gives:
json.dumps of the document built from ``generate_table``'s rows (same key order, same number
formatting, UTF-8 names unescaped). And ``render_rows`` writes every number exactly as Arrow
casts int64 and decimal128 to a string, negative ones too."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from simulator.data import _decimals, generate_table, statistics_json
from simulator.entities import AD_TYPES, GRAPHIC_AD, SPONSORED_OFFER, client_structure, make_users
from simulator.json_rows import Number, Piece, Text, render_rows

TODAY = date(2026, 6, 17)
_CLIENTS = [str(u.ads_client_id) for u in make_users(42, 12)[0]]
# The data fields of a day, in the order the endpoint writes them, for each ad type.
_COMMON = [
    ("views", "views"), ("clicks", "clicks"), ("interest", "interest"),
    ("totalCost", "cost"), ("ctr", "ctr"), ("totalAttributionCount", "attributed_count"),
    ("totalAttributionValue", "attributed_value"),
]  # fmt: skip
_FIELDS = {
    SPONSORED_OFFER: [
        *_COMMON, ("effectiveCpc", "effective_cpc"), ("rateOfReturn", "rate_of_return"),
    ],
    GRAPHIC_AD: [
        *_COMMON, ("effectiveCpm", "effective_cpm"), ("rateOfReturn", "rate_of_return"),
        ("uniqueReach", "unique_reach"), ("attributedToCoreValue", "attributed_to_core_value"),
    ],
}  # fmt: skip


def _reference(
    client_id: str, start: date, end: date, revision: int, types: tuple[str, ...]
) -> bytes:
    """The answer built the slow, obvious way: the table's rows grouped by ad, as dicts, with
    decimals as their exact strings, through json.dumps."""
    table = generate_table([client_id], start, end, TODAY, revision, ad_types=types)
    document: dict[str, list[dict[str, Any]]] = {"sponsoredOffers": [], "graphicAds": []}
    for _, ad_rows in groupby(table.to_pylist(), key=lambda row: row["ad_id"]):
        rows = list(ad_rows)
        first = rows[0]
        ad: dict[str, Any] = {"id": first["ad_id"], "name": first["ad_name"]}
        if first["ad_type"] == SPONSORED_OFFER:
            ad["offerId"] = first["offer_id"]
        element = {
            "campaign": {"id": first["campaign_id"], "name": first["campaign_name"]},
            "adGroup": {"id": first["ad_group_id"], "name": first["ad_group_name"]},
            "ad": ad,
            "dayData": [
                {
                    "day": row["day"].isoformat(),
                    "data": {
                        name: str(row[column]) if isinstance(row[column], Decimal) else row[column]
                        for name, column in _FIELDS[first["ad_type"]]
                    },
                }
                for row in rows
            ],
        }
        key = "graphicAds" if first["ad_type"] == GRAPHIC_AD else "sponsoredOffers"
        document[key].append(element)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _big_client() -> str:
    return max(_CLIENTS, key=lambda c: len(client_structure(42, c).ad_ids))


def _client_without_graphic_ads() -> str:
    return next(c for c in _CLIENTS if not client_structure(42, c).ad_graphic.any())


def _client_with_graphic_ads() -> str:
    return next(c for c in _CLIENTS if client_structure(42, c).ad_graphic.any())


_WINDOWS = {
    "a month long ago": (TODAY - timedelta(days=200), TODAY - timedelta(days=170), 0),
    "recent days, revised": (TODAY - timedelta(days=20), TODAY - timedelta(days=1), 3),
    "recent days, another revision": (TODAY - timedelta(days=20), TODAY - timedelta(days=1), 4),
    "one day": (TODAY - timedelta(days=1), TODAY - timedelta(days=1), 1),
    "past yesterday": (TODAY - timedelta(days=3), TODAY + timedelta(days=3), 0),
    "four months, ads starting on the way": (TODAY - timedelta(days=120), TODAY, 0),
    "only today: nothing": (TODAY, TODAY, 0),
}
_TYPES = {"both": AD_TYPES, "graphic": (GRAPHIC_AD,), "sponsored": (SPONSORED_OFFER,)}


@pytest.mark.parametrize("window", list(_WINDOWS))
@pytest.mark.parametrize("types", list(_TYPES))
def test_the_answer_is_byte_for_byte_the_plain_rendering(window: str, types: str) -> None:
    start, end, revision = _WINDOWS[window]
    for client in (_big_client(), _client_with_graphic_ads(), _client_without_graphic_ads()):
        expected = _reference(client, start, end, revision, _TYPES[types])
        got = statistics_json(client, start, end, TODAY, revision, ad_types=_TYPES[types])
        assert got == expected, _first_difference(got, expected)


def test_every_seeded_client_renders_like_the_plain_rendering() -> None:
    start, end = TODAY - timedelta(days=31), TODAY - timedelta(days=1)
    for client in _CLIENTS:
        expected = _reference(client, start, end, 2, AD_TYPES)
        assert statistics_json(client, start, end, TODAY, 2) == expected, client


def _first_difference(got: bytes, expected: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), None)
    at = min(len(got), len(expected)) if at is None else at
    near = slice(max(0, at - 60), at + 40)
    return f"first difference at byte {at}: {got[near]!r} != {expected[near]!r}"


def _arrow_text(values: np.ndarray, scale: int) -> list[str]:
    """What Arrow writes for these int64 values (scale 0) or decimal128(18, scale) units."""
    array = pa.array(values) if scale == 0 else _decimals(values, scale)
    texts: list[str] = pc.cast(array, pa.string()).to_pylist()
    return texts


def _numbers(rng: np.random.Generator, count: int, kind: str) -> np.ndarray:
    if kind == "small":
        return rng.integers(0, 10, count)
    if kind == "constant width":
        return rng.integers(1000, 10_000, count)
    if kind == "zero":
        return np.zeros(count, dtype=np.int64)
    if kind == "signed":
        return rng.integers(-(10**6), 10**6, count)
    if kind == "huge":  # every digit count from 1 to 17, signs mixed
        return rng.choice([-1, 1], count) * (10 ** rng.integers(0, 17, count)) + rng.integers(
            -9, 10, count
        )
    return rng.integers(0, 10 ** rng.integers(1, 9), count)


@pytest.mark.parametrize("seed", range(6))
def test_numbers_are_written_as_arrow_casts_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 400))
    kinds = ["small", "constant width", "zero", "signed", "huge", "any"]
    columns = [
        (
            _numbers(rng, count, str(rng.choice(kinds))).astype(np.int64),
            int(rng.choice([0, 2, 4, 6])),
        )
        for _ in range(8)
    ]
    days = np.frombuffer(b"2026-01-012026-01-022026-01-03", dtype=np.uint8).reshape(3, 10)
    day_index = rng.integers(0, 3, count)
    marks = np.frombuffer(b"ab", dtype=np.uint8).reshape(2, 1)
    mark_index = rng.integers(0, 2, count)
    pieces: list[Piece] = [b'{"day":"', Text(days, day_index), b'","n":[']
    for k, (values, scale) in enumerate(columns):
        quote = b'"' if scale else b""
        pieces += [b"," if k else b"", quote, Number(values, scale), quote]
    pieces += [b'],"mark":"', Text(marks, mark_index), b'"}']
    rendered = render_rows(pieces, count)

    texts = [_arrow_text(values, scale) for values, scale in columns]
    for row in range(count):
        numbers = ",".join(
            f'"{text[row]}"' if scale else text[row]
            for text, (_, scale) in zip(texts, columns, strict=True)
        )
        day = bytes(days[day_index[row]]).decode()
        mark = "ab"[mark_index[row]]
        expected = f'{{"day":"{day}","n":[{numbers}],"mark":"{mark}"}}'.encode()
        start, stop = rendered.starts[row], rendered.starts[row + 1]
        assert bytes(rendered.text[start:stop]) == expected
    assert len(rendered.text) == rendered.starts[-1]


def test_rows_without_numbers_and_no_rows_at_all() -> None:
    days = np.frombuffer(b"2026-01-012026-01-02", dtype=np.uint8).reshape(2, 10)
    rendered = render_rows([b"<", Text(days, np.array([1, 0, 1])), b">"], 3)
    assert bytes(rendered.text) == b"<2026-01-02><2026-01-01><2026-01-02>"
    assert rendered.starts.tolist() == [0, 12, 24, 36]
    empty = render_rows([b"<", Number(np.zeros(0, dtype=np.int64)), b">"], 0)
    assert bytes(empty.text) == b"" and empty.starts.tolist() == [0]
