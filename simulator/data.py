"""Deterministic daily statistics as the simulator serves them: the Arrow table
(``generate_table``) and the statistics endpoint's JSON (``statistics_json``), both rendered
from one computation (``figures.compute_figures``) so they agree to the grosz.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from numpy.typing import NDArray

from simulator.entities import (
    AD_TYPES,
    GRAPHIC_AD,
    SPONSORED_OFFER,
    ClientStructure,
    client_structure,
)
from simulator.figures import EPOCH_ORDINAL, I64, Figures, compute_figures
from simulator.json_rows import Number, Omitted, Piece, RenderedRows, Text, render_rows

_BATCH_ROWS = 250_000  # rows computed at once: keeps numpy's temporaries small
DEFAULT_SEED = 42
DEFAULT_REVISION_DAYS = 14

TABLE_SCHEMA = pa.schema(
    [
        ("ads_client_id", pa.string()),
        ("ad_type", pa.string()),
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("ad_group_id", pa.string()),
        ("ad_group_name", pa.string()),
        ("ad_id", pa.string()),
        ("ad_name", pa.string()),
        ("offer_id", pa.string()),
        ("day", pa.date32()),
        ("views", pa.int64()),
        ("clicks", pa.int64()),
        ("interest", pa.int64()),
        ("cost", pa.decimal128(18, 2)),
        ("attributed_value", pa.decimal128(18, 2)),
        ("attributed_count", pa.int64()),
        ("ctr", pa.decimal128(18, 4)),
        ("effective_cpc", pa.decimal128(18, 2)),  # null on graphic-ad rows
        ("rate_of_return", pa.decimal128(18, 2)),
        ("unique_reach", pa.int64()),  # this and the next two: null on sponsored-offer rows
        ("effective_cpm", pa.decimal128(18, 2)),
        ("attributed_to_core_value", pa.decimal128(18, 2)),
    ]
)


def _decimals(units: I64, scale: int, valid: NDArray[np.bool_] | None = None) -> pa.Array:
    """A decimal128(18, scale) array from integers in units of 10**-scale (no float on the way),
    null where ``valid`` is False."""
    low = units.astype(np.int64)
    high = np.where(low < 0, -1, 0).astype(np.int64)  # two's complement sign extension
    buffer = np.column_stack([low, high]).ravel()
    validity = None if valid is None or valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(
        pa.decimal128(18, scale), len(low), [validity, pa.py_buffer(buffer)]
    )


def _days(fig: Figures, rows: I64 | slice) -> pa.Array:
    return pa.array((fig.day[rows] - EPOCH_ORDINAL).astype(np.int32)).view(pa.date32())


def _table(fig: Figures, dictionary: bool = False) -> pa.Table:
    structures = fig.structures
    ad_client = np.repeat(
        np.arange(len(structures), dtype=np.int64), np.diff(fig.ad_offsets).astype(np.int64)
    )
    camp_base = np.cumsum([0] + [len(s.campaigns) for s in structures])
    group_base = np.cumsum([0] + [len(s.group_ids) for s in structures])
    ad_group_global = np.concatenate(
        [s.ad_group + group_base[i] for i, s in enumerate(structures)] or [np.zeros(0, np.int64)]
    ).astype(np.int64)
    ad_camp_global = np.concatenate(
        [s.ad_campaign + camp_base[i] for i, s in enumerate(structures)] or [np.zeros(0, np.int64)]
    ).astype(np.int64)
    campaigns = [c for s in structures for c in s.campaigns]
    graphic = np.concatenate([s.ad_graphic for s in structures] or [np.zeros(0, np.bool_)])
    sponsored_row = ~fig.graphic

    def by_ad(values: list[str | None], per_ad: I64 | None = None) -> pa.Array:
        index = pa.array((fig.ad if per_ad is None else per_ad[fig.ad]).astype(np.int32))
        labels = pa.array(values, pa.string())
        if dictionary:
            return pa.DictionaryArray.from_arrays(index, labels)
        return labels.take(index)

    columns: dict[str, pa.Array] = {
        "ads_client_id": by_ad([s.client_id for s in structures], ad_client),
        "ad_type": by_ad([SPONSORED_OFFER, GRAPHIC_AD], graphic.astype(np.int64)),
        "campaign_id": by_ad([c.id for c in campaigns], ad_camp_global),
        "campaign_name": by_ad([c.name for c in campaigns], ad_camp_global),
        "ad_group_id": by_ad([g for s in structures for g in s.group_ids], ad_group_global),
        "ad_group_name": by_ad([g for s in structures for g in s.group_names], ad_group_global),
        "ad_id": by_ad([a for s in structures for a in s.ad_ids]),
        "ad_name": by_ad([a for s in structures for a in s.ad_names]),
        "offer_id": by_ad([o for s in structures for o in s.offer_ids]),
        "day": _days(fig, slice(None)),
        "views": pa.array(fig.views),
        "clicks": pa.array(fig.clicks),
        "interest": pa.array(fig.interest),
        "cost": _decimals(fig.cost, 2),
        "attributed_value": _decimals(fig.attributed_value, 2),
        "attributed_count": pa.array(fig.attributed_count),
        "ctr": _decimals(fig.ctr, 4),
        "effective_cpc": _decimals(fig.effective_cpc, 2, sponsored_row),
        "rate_of_return": _decimals(fig.rate_of_return, 2),
        "unique_reach": pa.array(fig.unique_reach, mask=sponsored_row),
        "effective_cpm": _decimals(fig.effective_cpm, 2, fig.graphic),
        "attributed_to_core_value": _decimals(fig.attributed_to_core_value, 2, fig.graphic),
    }
    return pa.Table.from_pydict(columns, schema=table_schema(dictionary))


def table_schema(dictionary: bool = False) -> pa.Schema:
    """The schema of ``generate_table``'s result (string columns dictionary-encoded or not)."""
    if not dictionary:
        return TABLE_SCHEMA
    encoded = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [pa.field(f.name, encoded) if f.type == pa.string() else f for f in TABLE_SCHEMA]
    )


def _row_estimate(structure: ClientStructure, first: int, last: int) -> int:
    return int(np.clip(last - np.maximum(structure.ad_start, first) + 1, 0, None).sum())


def generate_table(
    client_ids: Sequence[str],
    start: date,
    end: date,
    today: date,
    revision: int = 0,
    *,
    seed: int = DEFAULT_SEED,
    revision_days: int = DEFAULT_REVISION_DAYS,
    ad_types: Iterable[str] = AD_TYPES,
    dictionary: bool = False,
) -> pa.Table:
    """Every ad-day row of ``client_ids`` in [start, min(end, yesterday)] as an Arrow table
    (schema ``table_schema(dictionary)``), ordered by client, ad, day.

    ``dictionary=True`` dictionary-encodes the string columns: same values, a fraction of the
    memory for tables of millions of rows."""
    types = tuple(ad_types)
    first, last = start.toordinal(), min(end.toordinal(), today.toordinal() - 1)
    # Computing a few hundred thousand rows at a time keeps numpy's temporaries small.
    parts: list[pa.Table] = []
    batch: list[ClientStructure] = []
    batch_rows = 0

    def flush() -> None:
        parts.append(
            _batch_table(batch, start, end, today, revision, revision_days, types, dictionary)
        )

    for cid in client_ids:
        structure = client_structure(seed, cid)
        batch.append(structure)
        batch_rows += _row_estimate(structure, first, last)
        if batch_rows >= _BATCH_ROWS:
            flush()
            batch, batch_rows = [], 0
    if batch or not parts:
        flush()
    return pa.concat_tables(parts)


def _batch_table(
    structures: list[ClientStructure],
    start: date,
    end: date,
    today: date,
    revision: int,
    revision_days: int,
    ad_types: tuple[str, ...],
    dictionary: bool,
) -> pa.Table:
    fig = compute_figures(structures, start, end, today, revision, revision_days, ad_types)
    return _table(fig, dictionary)


def statistics_json(
    client_id: str,
    start: date,
    end: date,
    today: date,
    revision: int = 0,
    *,
    seed: int = DEFAULT_SEED,
    revision_days: int = DEFAULT_REVISION_DAYS,
    ad_types: Iterable[str] = AD_TYPES,
) -> bytes:
    """The statistics endpoint's answer for one client as JSON bytes: rendered from the same
    computation as ``generate_table`` (the same integers in units of 10**-scale that become
    its decimals), so both agree to the grosz.

    Sponsored offers carry effectiveCpc; graphic ads carry effectiveCpm, uniqueReach and
    attributedToCoreValue instead. The day objects of both ad types are rendered in one
    pass by numpy (``json_rows.render_rows``, the graphic ads' own members ``Omitted`` from
    the sponsored offers' rows), not by json.dumps on dicts; each ad's head is made once per
    client."""
    structure = client_structure(seed, client_id)
    fig = compute_figures(
        [structure], start, end, today, revision, revision_days, ad_types, by_type=True
    )
    split = len(fig.ad) - int(np.count_nonzero(fig.graphic))  # sponsored offers come first
    if not len(fig.ad):
        return b'{"sponsoredOffers":[],"graphicAds":[]}'
    heads = _ad_heads(seed, client_id)
    count = len(fig.ad)
    if count <= _ONE_PASS_ROWS or split in (0, count):
        days = render_rows(_day_pieces(fig, slice(0, count), None), count)
        sponsored = graphic = (days, 0)
    else:
        sponsored = (render_rows(_day_pieces(fig, slice(0, split), False), split), 0)
        graphic = (render_rows(_day_pieces(fig, slice(split, count), True), count - split), split)
    return b"".join(
        [
            b'{"sponsoredOffers":[',
            *_section(fig.ad, *sponsored, heads, 0, split),
            b'],"graphicAds":[',
            *_section(fig.ad, *graphic, heads, split, count),
            b"]}",
        ]
    )


def served_statistics_json(
    client_id: str,
    start: date,
    end: date,
    today: date,
    revision: int = 0,
    *,
    seed: int = DEFAULT_SEED,
    revision_days: int = DEFAULT_REVISION_DAYS,
    ad_types: Iterable[str] = AD_TYPES,
) -> bytes:
    """``statistics_json``, kept in memory (``RENDERED``) for the next identical request.

    The answer is a pure function of these arguments (a revision or another day is another
    key), so a retried or repeated request is answered without computing it again."""
    types = tuple(sorted(set(ad_types)))
    key = (client_id, start, end, today, revision, seed, revision_days, types)
    body = RENDERED.get(key)
    if body is None:
        body = statistics_json(
            client_id, start, end, today, revision, seed=seed, revision_days=revision_days,
            ad_types=types,
        )  # fmt: skip
        RENDERED.put(key, body)
    return body


class RenderedWindows:
    """Recently rendered answers, least recently used dropped first, at most ``max_bytes`` of
    bodies in all; thread-safe (the server answers on many threads)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        """The body kept under ``key``, or None."""
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        """Keep ``body`` (a body over a quarter of the budget is not kept)."""
        if len(body) > self.max_bytes // 4:
            return
        with self._lock:
            if key in self._bodies:
                return
            self._bodies[key] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        """Forget every body."""
        with self._lock:
            self._bodies.clear()
            self._size = 0


# 64 MiB: a few dozen big 31-day windows, enough for the retries and re-runs of tests.
RENDERED = RenderedWindows(64 * 2**20)


def _section(
    ad: I64, days: RenderedRows, offset: int, heads: tuple[bytes, ...], first: int, stop: int
) -> list[bytes | memoryview]:
    """The elements of one ad type's list (its rows ``first`` to ``stop``), comma-separated,
    as pieces of JSON to join: each ad's head (``heads[ad]``) followed by its day objects
    (``days``, whose first row is the answer's row ``offset``)."""
    first, stop = first - offset, stop - offset
    ad = ad[offset:]
    ads = ad[first:stop]
    if not len(ads):
        return []
    first_of_ad = np.empty(len(ads), dtype=np.bool_)
    first_of_ad[0] = True
    np.not_equal(ads[1:], ads[:-1], out=first_of_ad[1:])
    firsts = np.flatnonzero(first_of_ad)
    # Every day object ends with ",": the last one of each ad is cut before "]}".
    starts = days.starts[first + firsts].tolist()
    stops = (days.starts[first + np.append(firsts[1:], len(ads))] - 1).tolist()
    text = days.text
    parts: list[bytes | memoryview] = []
    for each, start, end in zip(ads[firsts].tolist(), starts, stops, strict=True):
        parts += (heads[each], text[start:end], b"]},")
    parts[-1] = b"]}"
    return parts


@lru_cache(maxsize=256)
def _ad_heads(seed: int, client_id: str) -> tuple[bytes, ...]:
    """Each ad's element up to its day objects, ``{"campaign":...,"ad":...,"dayData":[``:
    the same in every answer, so made once per client."""
    structure = client_structure(seed, client_id)
    return tuple(_head(structure, ad) for ad in range(len(structure.ad_ids)))


def _head(structure: ClientStructure, ad: int) -> bytes:
    campaign = structure.campaigns[int(structure.ad_campaign[ad])]
    group = int(structure.ad_group[ad])
    ad_ref: dict[str, Any] = {"id": structure.ad_ids[ad], "name": structure.ad_names[ad]}
    if not structure.ad_graphic[ad]:
        ad_ref["offerId"] = structure.offer_ids[ad]
    head = orjson.dumps(
        {
            "campaign": {"id": campaign.id, "name": campaign.name},
            "adGroup": {"id": structure.group_ids[group], "name": structure.group_names[group]},
            "ad": ad_ref,
        }
    )
    return head[:-1] + b',"dayData":['


@lru_cache(maxsize=1024)
def _iso_days(first: int, last: int) -> NDArray[np.uint8]:
    """The days from ordinal ``first`` to ``last`` as "yyyy-mm-dd", one row of bytes each."""
    text = "".join(date.fromordinal(d).isoformat() for d in range(first, last + 1)).encode()
    days = np.frombuffer(text, dtype=np.uint8).reshape(-1, 10)
    return days


# An answer up to this many rows renders both ad types in one pass: fewer numpy calls. A
# bigger one renders each type alone: the graphic ads' own members then cost the sponsored
# offers' rows nothing, and that per-row cost outweighs the second pass's fixed one.
_ONE_PASS_ROWS = 2000
_EFFECTIVE_COST_PER = np.frombuffer(b"cm", dtype=np.uint8).reshape(2, 1)  # per click, per mille


def _day_pieces(fig: Figures, rows: slice, graphic: bool | None) -> list[Piece]:
    """The ``dayData`` elements of ``rows`` as pieces for ``render_rows``, each followed by a
    comma: rows of graphic ads (``graphic`` True), of sponsored offers (False), or of both
    (None: a graphic ad's own members ``Omitted`` from the sponsored offers' rows)."""
    day = fig.day[rows]
    first = int(day.min())
    day_text = Text(_iso_days(first, int(day.max())), day - first)
    if graphic is None:  # each row carries one of effectiveCpc and effectiveCpm (0 on others)
        per: Piece = Text(_EFFECTIVE_COST_PER, fig.graphic[rows].view(np.uint8))
        effective = Number(fig.effective_cpc[rows] + fig.effective_cpm[rows], 2)
    else:
        per = b"m" if graphic else b"c"
        effective = Number((fig.effective_cpm if graphic else fig.effective_cpc)[rows], 2)
    reach = (
        b'","uniqueReach":', Number(fig.unique_reach[rows]),
        b',"attributedToCoreValue":"', Number(fig.attributed_to_core_value[rows], 2),
    )  # fmt: skip
    return [
        b'{"day":"', day_text,
        b'","data":{"views":', Number(fig.views[rows]),
        b',"clicks":', Number(fig.clicks[rows]),
        b',"interest":', Number(fig.interest[rows]),
        b',"totalCost":"', Number(fig.cost[rows], 2),
        b'","ctr":"', Number(fig.ctr[rows], 4),
        b'","totalAttributionCount":', Number(fig.attributed_count[rows]),
        b',"totalAttributionValue":"', Number(fig.attributed_value[rows], 2),
        b'","effectiveCp', per, b'":"', effective,
        b'","rateOfReturn":"', Number(fig.rate_of_return[rows], 2),
        *([Omitted(fig.graphic[rows], reach)] if graphic is None else reach if graphic else []),
        b'"}},',
    ]  # fmt: skip


def statistics_document(
    client_id: str,
    start: date,
    end: date,
    today: date,
    revision: int = 0,
    *,
    seed: int = DEFAULT_SEED,
    revision_days: int = DEFAULT_REVISION_DAYS,
    ad_types: Iterable[str] = AD_TYPES,
) -> dict[str, list[dict[str, Any]]]:
    """``statistics_json`` parsed: ``{"sponsoredOffers": [...], "graphicAds": [...]}``."""
    document: dict[str, list[dict[str, Any]]] = json.loads(
        statistics_json(
            client_id,
            start,
            end,
            today,
            revision,
            seed=seed,
            revision_days=revision_days,
            ad_types=ad_types,
        )
    )
    return document


def _dumps(value: Any) -> str:
    """Compact JSON, non-ASCII characters as they are (as ``json.dumps(..., separators=(",",
    ":"), ensure_ascii=False)`` writes it, at a fraction of the cost)."""
    return orjson.dumps(value).decode()
