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
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from simulator.entities import (
    AD_TYPES,
    GRAPHIC_AD,
    SPONSORED_OFFER,
    ClientStructure,
    client_structure,
)
from simulator.figures import EPOCH_ORDINAL, I64, Figures, compute_figures

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
    computation and the same Arrow decimals as ``generate_table``, so both agree to the grosz.

    Sponsored offers carry effectiveCpc; graphic ads carry effectiveCpm, uniqueReach and
    attributedToCoreValue instead. Day rows are rendered by Arrow string kernels, not
    json.dumps on dicts: a 31-day window of a few hundred ads then costs a few milliseconds
    instead of a few hundred."""
    structure = client_structure(seed, client_id)
    fig = compute_figures([structure], start, end, today, revision, revision_days, ad_types)
    sections = [_section(fig, structure, graphic) for graphic in (False, True)]
    return b"".join((b'{"sponsoredOffers":[', sections[0], b'],"graphicAds":[', sections[1], b"]}"))


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


def _section(fig: Figures, structure: ClientStructure, graphic: bool) -> bytes:
    """The elements of one ad type's list, comma-separated, as JSON bytes.

    Each row becomes [head of its ad, if first] + day + ["]}", if last], joined by Arrow into
    one string array whose value buffer is the section: no Python object per row."""
    chosen = fig.graphic == graphic
    if not chosen.any():
        return b""
    rows: I64 | slice = slice(None) if chosen.all() else np.flatnonzero(chosen)
    ads = fig.ad[rows]
    starts = np.flatnonzero(np.diff(ads, prepend=-1))  # first row of each ad
    ad_campaign = structure.ad_campaign
    heads = []
    for k, ad in enumerate(ads[starts].tolist()):
        campaign = structure.campaigns[int(ad_campaign[ad])]
        group = int(structure.ad_group[ad])
        ad_ref: dict[str, Any] = {"id": structure.ad_ids[ad], "name": structure.ad_names[ad]}
        if not graphic:
            ad_ref["offerId"] = structure.offer_ids[ad]
        head = _dumps(
            {
                "campaign": {"id": campaign.id, "name": campaign.name},
                "adGroup": {"id": structure.group_ids[group], "name": structure.group_names[group]},
                "ad": ad_ref,
            }
        )
        heads.append(f'{"," if k else ""}{head[:-1]},"dayData":[')
    n = len(ads)
    head_index = np.zeros(n, dtype=np.int32)  # label 0: "," between two days of one ad
    head_index[starts] = np.arange(1, len(starts) + 1, dtype=np.int32)
    tail_index = np.zeros(n, dtype=np.int32)
    tail_index[np.append(starts[1:] - 1, n - 1)] = 1  # label 1: "]}" closes the ad
    prefix = pa.array([",", *heads], pa.string()).take(pa.array(head_index))
    suffix = pa.array(["", "]}"], pa.string()).take(pa.array(tail_index))
    joined = pc.binary_join_element_wise(prefix, *_day_parts(fig, rows, graphic), suffix, "")
    return _concatenated(joined)


def _concatenated(strings: pa.Array) -> bytes:
    """All values of a string array, back to back (its value buffer, sliced)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)
    first, last = int(offsets[strings.offset]), int(offsets[strings.offset + len(strings)])
    values: bytes = strings.buffers()[2][first:last].to_pybytes()
    return values


def _day_parts(fig: Figures, rows: I64 | slice, graphic: bool) -> tuple[Any, ...]:
    """The pieces of the chosen rows' ``dayData`` elements, for binary_join_element_wise."""

    def ints(values: I64) -> pa.Array:
        return pc.cast(pa.array(values[rows]), pa.string())

    def money(values: I64, scale: int = 2) -> pa.Array:
        return pc.cast(_decimals(values[rows], scale), pa.string())

    common = (
        '{"day":"', pc.cast(_days(fig, rows), pa.string()),
        '","data":{"views":', ints(fig.views),
        ',"clicks":', ints(fig.clicks),
        ',"interest":', ints(fig.interest),
        ',"totalCost":"', money(fig.cost),
        '","ctr":"', money(fig.ctr, 4),
        '","totalAttributionCount":', ints(fig.attributed_count),
        ',"totalAttributionValue":"', money(fig.attributed_value),
    )  # fmt: skip
    if graphic:
        return (
            *common,
            '","effectiveCpm":"', money(fig.effective_cpm),
            '","rateOfReturn":"', money(fig.rate_of_return),
            '","uniqueReach":', ints(fig.unique_reach),
            ',"attributedToCoreValue":"', money(fig.attributed_to_core_value),
            '"}}',
        )  # fmt: skip
    return (
        *common,
        '","effectiveCpc":"', money(fig.effective_cpc),
        '","rateOfReturn":"', money(fig.rate_of_return),
        '"}}',
    )  # fmt: skip


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
