"""Deterministic daily statistics: one vectorised computation feeds both the Arrow table
(``generate_table``) and the statistics endpoint's JSON (``statistics_document``).

Every figure of (ad, day) is a hash of the ad's key and the day, so the data is a pure function
of (seed, client, day, today, revision). Money is computed in integer grosze and ratios in
integer units of their last decimal place, rounded half-up, so nothing passes through a float
on its way to a decimal string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from allegro_resource.simulator.entities import (
    AD_TYPES,
    GRAPHIC_AD,
    SPONSORED_OFFER,
    ClientStructure,
    client_structure,
)
from allegro_resource.simulator.hashing import F64, U64, lanes, mix, splitmix64

I64 = NDArray[np.int64]

_BATCH_ROWS = 250_000
DEFAULT_SEED = 42
DEFAULT_REVISION_DAYS = 14

# Monday first. Polish e-commerce dips on Friday/Saturday and peaks on Sunday evening.
WEEKDAY_FACTORS = np.array([1.00, 1.02, 1.00, 0.97, 0.90, 0.70, 1.20])
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_PEAK_DAY_OF_YEAR = 344  # the run-up to Christmas

# Stream constants: distinct salts so the figures of one (ad, day) are independent draws.
_S_PARAMS_A = np.uint64(0x0A11CE5)
_S_PARAMS_B = np.uint64(0x0B0B5)
_S_TRAFFIC = np.uint64(0x7AFF1C)
_S_MONEY = np.uint64(0x3011E7)
_S_SALES = np.uint64(0x5A1E5)

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
        ("effective_cpc", pa.decimal128(18, 2)),
        ("rate_of_return", pa.decimal128(18, 2)),
    ]
)


@dataclass(frozen=True)
class _Figures:
    """The computed rows: ``ad`` indexes the concatenated ads of ``structures``."""

    structures: tuple[ClientStructure, ...]
    ad_offsets: I64  # first global ad index of each structure (plus the total at the end)
    ad: I64
    day: I64  # date ordinals
    views: I64
    clicks: I64
    interest: I64
    cost: I64  # grosze
    attributed_count: I64
    attributed_value: I64  # grosze
    ctr: I64  # 1/10000
    effective_cpc: I64  # grosze
    rate_of_return: I64  # 1/100


def _half_up(numerator: I64, denominator: I64) -> I64:
    """round(numerator / denominator) half-up for non-negative integers; 0 where denominator 0."""
    safe = np.where(denominator > 0, denominator, 1)
    result: I64 = np.where(denominator > 0, (2 * numerator + safe) // (2 * safe), 0)
    return result


def _log_uniform(u: F64, low: float, high: float) -> F64:
    result: F64 = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
    return result


def _ad_parameters(key: U64, graphic: NDArray[np.bool_]) -> dict[str, F64]:
    """Each ad's economics: traffic level, CTR, CPC, interest share, conversion, order value."""
    a = lanes(splitmix64(key ^ _S_PARAMS_A))
    b = lanes(splitmix64(key ^ _S_PARAMS_B))
    return {
        "views": np.where(graphic, 4.0, 1.0) * _log_uniform(a[0], 4, 1500),
        "ctr": np.where(
            graphic, _log_uniform(a[1], 0.0008, 0.006), _log_uniform(a[1], 0.004, 0.04)
        ),
        "cpc": np.where(graphic, _log_uniform(a[2], 40, 300), _log_uniform(a[2], 15, 160)),
        "weekend": 0.5 + a[3],  # how strongly this ad follows the weekly rhythm
        "interest": 0.1 + 0.35 * b[0],
        "conversion": _log_uniform(b[1], 0.01, 0.09),
        "price": _log_uniform(b[2], 1500, 60000),
    }


def _seasonality(days: I64, weekend_strength: F64) -> F64:
    weekday = WEEKDAY_FACTORS[(days - 1) % 7]  # ordinal 1 (0001-01-01) was a Monday
    weekly = 1.0 + weekend_strength * (weekday - 1.0)
    phase = 2 * np.pi * ((days - _EPOCH_ORDINAL) % 365.2425 - _PEAK_DAY_OF_YEAR) / 365.2425
    result: F64 = weekly * (1.0 + 0.25 * np.cos(phase))
    return result


def _matured_share(age: I64, revision_days: int) -> F64:
    """Share of a day's final attributed sales known ``age`` days later (1 once past revision)."""
    share: F64 = np.where(age >= revision_days, 1.0, 1.0 - 0.85 * np.exp(-age / 3.0))
    return share


def _compute(
    structures: Sequence[ClientStructure],
    start: date,
    end: date,
    today: date,
    revision: int,
    revision_days: int,
    ad_types: Iterable[str],
) -> _Figures:
    wanted = set(ad_types)
    last = min(end.toordinal(), today.toordinal() - 1)  # today's data is never served
    days = np.arange(start.toordinal(), last + 1, dtype=np.int64)
    offsets = np.cumsum([0] + [len(s.ad_ids) for s in structures]).astype(np.int64)

    def cat(arrays: list[Any], dtype: Any) -> Any:
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)

    keys: U64 = cat([s.ad_key for s in structures], np.uint64)
    graphic: NDArray[np.bool_] = cat([s.ad_graphic for s in structures], np.bool_)
    starts: I64 = cat([s.ad_start for s in structures], np.int64)
    type_ok = np.where(graphic, GRAPHIC_AD in wanted, SPONSORED_OFFER in wanted)

    # Rows exist for every wanted ad on every day since it started: ad-major, day-minor.
    present = type_ok[:, None] & (starts[:, None] <= days[None, :])
    ad, day_index = np.nonzero(present)
    ad = ad.astype(np.int64)
    day = days[day_index]

    params = {k: v[ad] for k, v in _ad_parameters(keys, graphic).items()}
    cell = mix(keys[ad], day.astype(np.uint64))
    t = lanes(splitmix64(cell ^ _S_TRAFFIC))
    m = lanes(splitmix64(cell ^ _S_MONEY))
    s = lanes(splitmix64(cell ^ _S_SALES))

    normal = (t[0] + t[1] + t[2] + m[3] - 2.0) * np.sqrt(3.0)  # Irwin-Hall: close to N(0, 1)
    expected = params["views"] * _seasonality(day, params["weekend"])
    views = np.floor(expected * np.exp(0.3 * normal - 0.045) + t[3]).astype(np.int64)
    clicks = np.minimum(
        views, np.floor(views * params["ctr"] * (0.7 + 0.6 * m[0]) + m[1]).astype(np.int64)
    )
    interest = np.minimum(
        views, np.floor(clicks * params["interest"] * (0.5 + s[0]) + s[1]).astype(np.int64)
    )
    cpc_of_day = np.maximum(1, np.floor(params["cpc"] * (0.9 + 0.2 * m[2]) + 0.5)).astype(np.int64)
    cost = clicks * cpc_of_day
    final_count = np.floor(clicks * params["conversion"] * (0.5 + s[2]) + s[3]).astype(np.int64)
    unit_price = np.maximum(100, np.floor(params["price"] * (0.8 + 0.4 * t[2]) + 0.5))

    # Attribution arrives late: a recent day shows a growing share of its final sales, and
    # each revision of the simulator redraws that share (so a re-fetch sees new figures).
    age = today.toordinal() - day
    recent = age < revision_days
    redraw = lanes(splitmix64(cell ^ mix(revision, 0x2E7151011)))[0]
    partial = np.floor(final_count * _matured_share(age, revision_days) * (0.85 + 0.15 * redraw))
    count = np.where(recent, partial, final_count).astype(np.int64)
    value = (count * unit_price).astype(np.int64)

    return _Figures(
        structures=tuple(structures),
        ad_offsets=offsets,
        ad=ad,
        day=day,
        views=views,
        clicks=clicks,
        interest=interest,
        cost=cost,
        attributed_count=count,
        attributed_value=value,
        ctr=_half_up(clicks * 10_000, views),
        effective_cpc=_half_up(cost, clicks),
        rate_of_return=_half_up(value * 100, cost),
    )


def _decimals(units: I64, scale: int) -> pa.Array:
    """A decimal128(18, scale) array from integers in units of 10**-scale (no float on the way)."""
    low = units.astype(np.int64)
    high = np.where(low < 0, -1, 0).astype(np.int64)  # two's complement sign extension
    buffer = np.column_stack([low, high]).ravel()
    return pa.Array.from_buffers(pa.decimal128(18, scale), len(low), [None, pa.py_buffer(buffer)])


def _table(fig: _Figures, dictionary: bool = False) -> pa.Table:
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
        "day": pa.array((fig.day - _EPOCH_ORDINAL).astype(np.int32)).view(pa.date32()),
        "views": pa.array(fig.views),
        "clicks": pa.array(fig.clicks),
        "interest": pa.array(fig.interest),
        "cost": _decimals(fig.cost, 2),
        "attributed_value": _decimals(fig.attributed_value, 2),
        "attributed_count": pa.array(fig.attributed_count),
        "ctr": _decimals(fig.ctr, 4),
        "effective_cpc": _decimals(fig.effective_cpc, 2),
        "rate_of_return": _decimals(fig.rate_of_return, 2),
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
    for cid in client_ids:
        structure = client_structure(seed, cid)
        batch.append(structure)
        batch_rows += _row_estimate(structure, first, last)
        if batch_rows >= _BATCH_ROWS:
            parts.append(
                _batch_table(batch, start, end, today, revision, revision_days, types, dictionary)
            )
            batch, batch_rows = [], 0
    if batch or not parts:
        parts.append(
            _batch_table(batch, start, end, today, revision, revision_days, types, dictionary)
        )
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
    fig = _compute(structures, start, end, today, revision, revision_days, ad_types)
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

    Day rows are rendered by Arrow string kernels, not json.dumps on dicts: a 31-day window of
    a few hundred ads then costs a few milliseconds instead of a few hundred."""
    structure = client_structure(seed, client_id)
    fig = _compute([structure], start, end, today, revision, revision_days, ad_types)
    table = _table(fig)

    def text(name: str) -> pa.Array:
        return pc.cast(table[name], pa.string())

    rows: list[str] = pc.binary_join_element_wise(
        '{"day":"', text("day"),
        '","data":{"views":', text("views"),
        ',"clicks":', text("clicks"),
        ',"interest":', text("interest"),
        ',"totalCost":"', text("cost"),
        '","ctr":"', text("ctr"),
        '","totalAttributionCount":', text("attributed_count"),
        ',"totalAttributionValue":"', text("attributed_value"),
        '","effectiveCpc":"', text("effective_cpc"),
        '","rateOfReturn":"', text("rate_of_return"),
        '"}}',
        "",
    ).to_pylist()  # fmt: skip

    ad_campaign = structure.ad_campaign
    sections: dict[bool, list[str]] = {False: [], True: []}  # keyed by "is graphic"
    bounds = np.flatnonzero(np.diff(fig.ad, prepend=-1, append=-1))  # first row of each ad run
    for first, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        ad = int(fig.ad[first])
        campaign = structure.campaigns[int(ad_campaign[ad])]
        group = int(structure.ad_group[ad])
        graphic = bool(structure.ad_graphic[ad])
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
        sections[graphic].append(f'{head[:-1]},"dayData":[{",".join(rows[first:stop])}]}}')
    return (
        f'{{"sponsoredOffers":[{",".join(sections[False])}],'
        f'"graphicAds":[{",".join(sections[True])}]}}'
    ).encode()


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
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
