"""The statistics answer read in the compact layout the simulator sends: the first tier of
``stats_parse.parse_statistics``. No whitespace, each ad type's keys in the order below;
allegro-api.md does not document Allegro's key order or whitespace, so an answer in any other
layout is read by the msgspec tier, correctly and only slower.

Each ad's ``dayData`` list is cut out of the body (``_cut``) and msgspec reads what is left:
the document's structure and each ad's head (few per answer, free-form strings with escapes).
The records of the lists are read by ``day_records``' compiled pass straight into the
buffers of the table's columns: no Python object per row or value.

This tier accepts only what the strict pydantic pass accepts and builds the same table as
``stats_wire``'s msgspec tier. It is narrower than the wire format: on anything it does not
vouch for (another key order, whitespace, unknown keys, a decimal string without a point, a
count of more than 16 digits, a rounded ratio at the edge of its column) it raises
``WireRefused`` and the msgspec tier, then the strict pass, read or name the body.
"""

from __future__ import annotations

import msgspec
import numpy as np
import pyarrow as pa

from allegro_resource.day_records import (
    COUNT_METRICS,
    DECIMAL_METRICS,
    I64,
    Layout,
    Records,
    Refusal,
    empty_records,
    read_records,
)
from allegro_resource.stats_columns import Metric, WireRefused, stats_table
from allegro_resource.stats_wire import AdHead, head_columns

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
_LAYOUTS = (Layout.of(SPONSORED_KEYS), Layout.of(GRAPHIC_KEYS))


class _HeadAd(AdHead):
    """An ad element whose ``dayData`` list was cut out: it holds the list's number instead."""

    dayData: list[int]


class _Heads(msgspec.Struct):
    sponsoredOffers: list[_HeadAd] = []
    graphicAds: list[_HeadAd] = []


_DECODER = msgspec.json.Decoder(_Heads)
_DAY_DATA = b'"dayData":['


def decode_columnar(body: bytes, *, ads_client_id: str) -> pa.Table:
    """The statistics answer ``body`` as a ``STATS_SCHEMA`` table (sponsored offers first),
    if its day records are in the canonical layout; ``WireRefused`` otherwise."""
    heads, starts, ends = _cut(body)
    try:
        document = _DECODER.decode(heads)
    except msgspec.DecodeError as exc:
        raise WireRefused(str(exc)) from None
    ads = [*document.sponsoredOffers, *document.graphicAds]
    # Every list cut out is one ad's dayData, in order: sponsored offers, then graphic ads.
    if [ad.dayData for ad in ads] != [[n] for n in range(len(starts))]:
        raise WireRefused("a dayData list was not where the fast tier looked")
    split = len(document.sponsoredOffers)
    # Room for as many records as the lists' bytes can hold (a pass never writes past it).
    room = sum(
        layout.most_records(int((ends[ads_of] - starts[ads_of]).sum()))
        for layout, ads_of in zip(_LAYOUTS, (slice(0, split), slice(split, None)), strict=True)
    )
    records = empty_records(room, len(ads))
    data = np.frombuffer(body, np.uint8)
    try:
        sponsored = read_records(data, starts[:split], ends[:split], _LAYOUTS[0], records, 0, 0)
        rows = read_records(
            data, starts[split:], ends[split:], _LAYOUTS[1], records, split, sponsored
        )
    except Refusal as exc:
        raise WireRefused(str(exc)) from None
    return _table(ads_client_id, ads, records, sponsored, rows)


def _cut(body: bytes) -> tuple[bytes, I64, I64]:
    """``body`` with the text inside each ``"dayData":[...]`` replaced by the list's number
    (0, 1, ...), and where each of those texts starts and ends in ``body``.

    In JSON, ``"dayData":[`` outside a string is a key and its list (a string cannot hold the
    second quote unescaped); the list ends at the first "]" if its records are in the
    canonical layout, which the pass checks (a record there holds no "]"). A list cut
    anywhere else leaves the numbers out of order, or the heads not JSON: refused."""
    view = memoryview(body)
    pieces: list[bytes | memoryview] = []
    starts: list[int] = []
    ends: list[int] = []
    done = 0
    at = body.find(_DAY_DATA)
    while at >= 0:
        first = at + len(_DAY_DATA)
        end = body.find(b"]", first)
        if end < 0:
            raise WireRefused("a dayData list does not end")
        pieces += (view[done:first], b"%d" % len(starts))
        starts.append(first)
        ends.append(end)
        done = end
        at = body.find(_DAY_DATA, end)
    pieces.append(view[done:])
    return b"".join(pieces), np.array(starts, np.int64), np.array(ends, np.int64)


def _table(
    ads_client_id: str, ads: list[_HeadAd], records: Records, sponsored: int, rows: int
) -> pa.Table:
    """The table of the rows read: sponsored offers' ``sponsored`` rows, then graphic ads'."""
    section_rows = [sponsored, rows - sponsored]
    arrays = head_columns(ads_client_id, ads, records.per_ad.tolist(), section_rows)
    days = records.days[:rows]
    arrays["day"] = pa.Array.from_buffers(pa.date32(), rows, [None, pa.py_buffer(days)])
    for i, metric in enumerate(COUNT_METRICS):
        arrays[metric.column] = _column(metric, records.counts[i, :rows], sponsored)
    for i, metric in enumerate(DECIMAL_METRICS):
        arrays[metric.column] = _column(metric, records.decimals[i, :rows], sponsored)
    return stats_table(arrays)


def _column(metric: Metric, values: I64, sponsored: int) -> pa.Array:
    """``metric``'s column from its values, null (and zero) on the rows of the ad type that
    does not carry it: the sponsored offers' first ``sponsored`` rows, or the graphic ads'."""
    rows = len(values)
    if metric.sponsored and metric.graphic:
        return pa.Array.from_buffers(metric.type, rows, [None, pa.py_buffer(values)])
    valid = np.zeros(rows, np.bool_)
    if metric.sponsored:
        valid[:sponsored] = True
    else:
        valid[sponsored:] = True
    values[~valid] = 0
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(metric.type, rows, [validity, pa.py_buffer(values)])
