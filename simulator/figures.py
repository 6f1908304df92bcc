"""The numbers behind the simulated statistics: each (ad, day) figure is a hash of the ad's
key and the day, turned into traffic, money and late-arriving sales.

A pure function of (structures, days, today, revision). Money is computed in integer grosze and
ratios in integer units of their last decimal place, rounded half-up, so nothing passes through
a float on its way to a decimal string.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import accumulate
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simulator.entities import GRAPHIC_AD, SPONSORED_OFFER, ClientStructure
from simulator.hashing import F64, U64, lanes, mix, splitmix64

I64 = NDArray[np.int64]

# Monday first. Polish e-commerce dips on Friday/Saturday and peaks on Sunday evening.
WEEKDAY_FACTORS = np.array([1.00, 1.02, 1.00, 0.97, 0.90, 0.70, 1.20])
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_PEAK_DAY_OF_YEAR = 344  # the run-up to Christmas
_SQRT_3 = np.sqrt(3.0)

# Stream constants: distinct salts so the figures of one (ad, day) are independent draws.
_S_PARAMS_A = np.uint64(0x0A11CE5)
_S_PARAMS_B = np.uint64(0x0B0B5)
_S_TRAFFIC = np.uint64(0x7AFF1C)
_S_MONEY = np.uint64(0x3011E7)
_S_SALES = np.uint64(0x5A1E5)
_S_REACH = np.uint64(0x2EAC4)
_ROW_STREAMS = np.array([_S_TRAFFIC, _S_MONEY, _S_SALES], dtype=np.uint64)


@dataclass(frozen=True)
class Figures:
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
    effective_cpc: I64  # grosze (sponsored offers only: graphic ads carry none; 0 on their rows)
    rate_of_return: I64  # 1/100
    graphic: NDArray[np.bool_]  # the row's ad is a graphic ad
    # Graphic ads only (0 on the rows of sponsored offers, which carry none of them):
    unique_reach: I64  # distinct users who saw the ad that day: never additive across days
    effective_cpm: I64  # grosze per 1000 views
    attributed_to_core_value: I64  # grosze: the part of attributed_value from core offers


def _half_up(numerator: I64, denominator: I64) -> I64:
    """round(numerator / denominator) half-up for non-negative integers; 0 where denominator 0."""
    safe = np.where(denominator > 0, denominator, 1)
    result: I64 = np.where(denominator > 0, (2 * numerator + safe) // (2 * safe), 0)
    return result


def _log_uniform(u: F64, low: float, high: float) -> F64:
    result: F64 = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
    return result


_PARAMETERS = ("views", "ctr", "cpc", "weekend", "interest", "conversion", "price", "core")


@lru_cache(maxsize=256)
def _parameters_of(keys: bytes, graphic: bytes) -> F64:
    """``_ad_parameters`` of the ads with these keys and types, as rows in ``_PARAMETERS``
    order: the same for every window of a client, so computed once."""
    computed = _ad_parameters(np.frombuffer(keys, np.uint64), np.frombuffer(graphic, np.bool_))
    matrix = np.stack([computed[name] for name in _PARAMETERS])
    matrix.flags.writeable = False
    return matrix


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
        "core": 0.3 + 0.5 * b[3],  # graphic ads: share of attributed sales from core offers
    }


@dataclass(frozen=True)
class _Days:
    """What depends on the day alone, for each day of a window (the same for every client)."""

    weekday: F64  # the weekly rhythm's factor
    yearly: F64  # the yearly rhythm's factor
    hash: U64  # splitmix64 of the day: the inner half of mix(ad key, day)


@lru_cache(maxsize=4096)
def _days(first: int, last: int) -> _Days:
    days = np.arange(first, last + 1, dtype=np.int64)
    phase = 2 * np.pi * ((days - EPOCH_ORDINAL) % 365.2425 - _PEAK_DAY_OF_YEAR) / 365.2425
    kept = _Days(
        weekday=WEEKDAY_FACTORS[(days - 1) % 7],  # ordinal 1 (0001-01-01) was a Monday
        yearly=1.0 + 0.25 * np.cos(phase),
        hash=splitmix64(days.astype(np.uint64)),
    )
    for array in (kept.weekday, kept.yearly, kept.hash):
        array.flags.writeable = False
    return kept


def _seasonality(days: _Days, day_index: I64, weekend_strength: F64) -> F64:
    """Each row's seasonal factor: the weekly rhythm (as strong as the row's ad follows it)
    times the yearly one."""
    weekly = 1.0 + weekend_strength * (days.weekday[day_index] - 1.0)
    result: F64 = weekly * days.yearly[day_index]
    return result


def _streams(cell: U64, salts: U64) -> list[list[F64]]:
    """For each salt, the four uniform lanes of ``splitmix64(cell ^ salt)``: the same numbers
    as hashing each stream alone, in a few numpy calls for all of them."""
    by_lane = lanes(splitmix64(salts[:, None] ^ cell[None, :]))
    return [[lane[i] for lane in by_lane] for i in range(len(salts))]


@lru_cache(maxsize=64)
def _revision_salt(revision: int) -> U64:
    """The salt of a revision's redraw of late sales (the same for every row)."""
    salt = mix(revision, 0x2E7151011)
    salt.flags.writeable = False
    return salt


def _matured_share(age: I64, revision_days: int) -> F64:
    """Share of a day's final attributed sales known ``age`` days later (1 once past revision)."""
    share: F64 = np.where(age >= revision_days, 1.0, 1.0 - 0.85 * np.exp(-age / 3.0))
    return share


def compute_figures(
    structures: Sequence[ClientStructure],
    start: date,
    end: date,
    today: date,
    revision: int,
    revision_days: int,
    ad_types: Iterable[str],
    *,
    by_type: bool = False,
) -> Figures:
    """Every row of the wanted ads of ``structures`` over [start, min(end, yesterday)],
    ordered by ad and day; with ``by_type``, the sponsored offers' rows first, then the
    graphic ads' (each type's rows one slice, as an answer lists them)."""
    wanted = set(ad_types)
    last = min(end.toordinal(), today.toordinal() - 1)  # today's data is never served
    days = np.arange(start.toordinal(), last + 1, dtype=np.int64)
    offsets = np.array([0, *accumulate(len(s.ad_ids) for s in structures)], dtype=np.int64)

    def cat(arrays: list[Any], dtype: Any) -> Any:
        if len(arrays) == 1:
            return arrays[0].astype(dtype, copy=False)
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)

    keys: U64 = cat([s.ad_key for s in structures], np.uint64)
    graphic: NDArray[np.bool_] = cat([s.ad_graphic for s in structures], np.bool_)
    starts: I64 = cat([s.ad_start for s in structures], np.int64)
    type_ok = np.where(graphic, GRAPHIC_AD in wanted, SPONSORED_OFFER in wanted)

    # Rows exist for every wanted ad on every day since it started: ad-major, day-minor.
    present = type_ok[:, None] & (starts[:, None] <= days[None, :])
    order = np.argsort(graphic, kind="stable") if by_type else None
    if order is not None:
        present = present[order]
    _, day_index = np.nonzero(present)
    # Each ad's rows are one run (ad-major): an ad's values are repeated along its run, a
    # fraction of the cost of gathering them row by row.
    runs = np.count_nonzero(present, axis=1)

    def by_row(per_ad: Any) -> Any:
        return np.repeat(per_ad if order is None else per_ad[..., order], runs, axis=-1)

    ad: I64 = by_row(np.arange(len(graphic), dtype=np.int64))
    day = days[day_index]
    graphic_row = by_row(graphic)
    graphic_count = int(np.count_nonzero(graphic_row))
    # Metrics of one ad type are computed on its rows alone (and are zero on the others).
    if by_type:
        split = len(ad) - graphic_count
        sponsored_rows: slice | I64 = slice(0, split)
        graphic_rows: slice | I64 = slice(split, len(ad))
    else:
        sponsored_rows, graphic_rows = np.flatnonzero(~graphic_row), np.flatnonzero(graphic_row)

    # Each ad's parameters, then per row: one gather for all of them.
    parameters = np.concatenate(
        [_parameters_of(s.ad_key.tobytes(), s.ad_graphic.tobytes()) for s in structures]
        or [np.zeros((len(_PARAMETERS), 0))],
        axis=1,
    )
    params = dict(zip(_PARAMETERS, by_row(parameters), strict=True))
    per_day = _days(start.toordinal(), last)
    # mix(key, day) = splitmix64(key ^ splitmix64(day)): the inner hash once per day.
    cell = splitmix64(by_row(keys) ^ per_day.hash[day_index])
    # The row's independent draws, hashed together: one numpy call per step for all streams.
    t, m, s = _streams(cell, _ROW_STREAMS)

    normal = (t[0] + t[1] + t[2] + m[3] - 2.0) * _SQRT_3  # Irwin-Hall: close to N(0, 1)
    expected = params["views"] * _seasonality(per_day, day_index, params["weekend"])
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
    # Stochastic rounding (redraw[1]) keeps small counts moving between revisions too:
    # most ads sell 0-2 items a day, and a plain floor would hide every revision there.
    count = final_count.copy()
    recent = np.flatnonzero(today.toordinal() - day < revision_days)
    if len(recent):
        redraw = lanes(splitmix64(cell[recent] ^ _revision_salt(revision)))
        age = today.toordinal() - day[recent]
        share = _matured_share(age, revision_days)
        matured = final_count[recent] * share * (0.85 + 0.15 * redraw[0])  # in this order
        count[recent] = np.minimum(final_count[recent], np.floor(matured + redraw[1]))
    value = (count * unit_price).astype(np.int64)
    # Graphic ads: a day's distinct viewers (fewer than its views, at least its clickers) and
    # the attributed value of the advertiser's core offers (revised along with ``value``).
    g, sponsored = graphic_rows, sponsored_rows
    reach, effective_cpm, core, effective_cpc = (np.zeros(len(ad), np.int64) for _ in range(4))
    if graphic_count:
        reach_share = 0.55 + 0.35 * lanes(splitmix64(cell[g] ^ _S_REACH))[0]
        reach[g] = np.maximum(clicks[g], np.minimum(views[g], np.floor(views[g] * reach_share)))
        effective_cpm[g] = _half_up(cost[g] * 1000, views[g])
        core[g] = np.floor(value[g] * params["core"][g])
    if graphic_count < len(ad):
        effective_cpc[sponsored] = _half_up(cost[sponsored], clicks[sponsored])

    return Figures(
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
        effective_cpc=effective_cpc,
        rate_of_return=_half_up(value * 100, cost),
        graphic=graphic_row,
        unique_reach=reach,
        effective_cpm=effective_cpm,
        attributed_to_core_value=core,
    )
