"""The simulated data: deterministic per (seed, client, day, today, revision), realistic in
shape, revised for recent days, identical between the Arrow table, the endpoint and the truth."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa

from simulator.data import (
    RENDERED,
    TABLE_SCHEMA,
    generate_table,
    served_statistics_json,
    statistics_document,
    statistics_json,
)
from simulator.entities import client_structure, make_users
from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import Account, api_get, last_days, stats_params, stats_path

Factory = Callable[..., RunningSimulator]
Consented = Callable[[RunningSimulator, str], Account]
TODAY = date(2026, 6, 17)  # a Wednesday
CENTS = Decimal("0.01")
# JSON field -> table column, for both ad types (a type lacks the other's own fields).
_FIELDS = {
    "views": "views", "clicks": "clicks", "interest": "interest", "totalCost": "cost",
    "ctr": "ctr", "totalAttributionCount": "attributed_count",
    "totalAttributionValue": "attributed_value", "effectiveCpc": "effective_cpc",
    "rateOfReturn": "rate_of_return", "uniqueReach": "unique_reach",
    "effectiveCpm": "effective_cpm", "attributedToCoreValue": "attributed_to_core_value",
}  # fmt: skip


def _client_ids(count: int, seed: int = 42) -> list[str]:
    return [str(u.ads_client_id) for u in make_users(seed, count)[0]]


def _rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per (ad, day) of a statistics answer, with the table's column names."""
    rows = []
    for key, ad_type in (("sponsoredOffers", "SPONSORED_OFFER"), ("graphicAds", "GRAPHIC_AD")):
        for ad in document[key]:
            for day in ad["dayData"]:
                row: dict[str, Any] = {c: None for c in _FIELDS.values()}
                for name, value in day["data"].items():
                    row[_FIELDS[name]] = Decimal(value) if isinstance(value, str) else value
                row |= {
                    "ad_id": ad["ad"]["id"],
                    "offer_id": ad["ad"].get("offerId"),
                    "ad_type": ad_type,
                    "campaign_id": ad["campaign"]["id"],
                    "ad_group_id": ad["adGroup"]["id"],
                    "day": date.fromisoformat(day["day"]),
                }
                rows.append(row)
    return rows


def test_same_seed_same_day_serves_identical_data(
    simulator_factory: Factory, consented: Consented
) -> None:
    first, second = (simulator_factory(seed=7, today=TODAY) for _ in range(2))
    assert first.users() == second.users()
    start, end = last_days(first, 31)
    bodies = []
    for sim in (first, second):
        agency = consented(sim, "agency")
        path = stats_path(sim.users()[0]["ads_client_id"])
        answer = api_get(sim.base_url, path, agency.token, stats_params(start, end))
        bodies.append(answer.content)
    assert bodies[0] == bodies[1]
    other_seed = simulator_factory(seed=8, today=TODAY)
    assert other_seed.users()[0]["ads_client_id"] != first.users()[0]["ads_client_id"]


def test_past_days_do_not_depend_on_today() -> None:
    cid = _client_ids(1)[0]
    day = TODAY - timedelta(days=100)
    once = statistics_json(cid, day, day + timedelta(days=9), TODAY)
    later = statistics_json(cid, day, day + timedelta(days=9), TODAY + timedelta(days=30))
    assert once == later


def test_truth_equals_statistics_endpoint(simulator: RunningSimulator, agency: Account) -> None:
    start, end = last_days(simulator, 31)
    for user in simulator.users():
        client = user["ads_client_id"]
        answer = api_get(
            simulator.base_url, stats_path(client), agency.token, stats_params(start, end)
        )
        assert answer.json() == simulator.truth(client, start, end)


def test_truth_filters_types_like_the_endpoint(simulator: RunningSimulator) -> None:
    client = simulator.users()[0]["ads_client_id"]
    start, end = last_days(simulator, 3)
    only = simulator.truth(client, start, end, ("SPONSORED_OFFER",))
    assert only["graphicAds"] == [] and only == {
        **simulator.truth(client, start, end),
        "graphicAds": [],
    }


def test_truth_has_no_range_cap_and_stops_at_yesterday(simulator: RunningSimulator) -> None:
    cid = simulator.users()[0]["ads_client_id"]
    start, yesterday = last_days(simulator, 120)
    truth = simulator.truth(cid, start, yesterday + timedelta(days=5))
    days = {d["day"] for ad in truth["sponsoredOffers"] for d in ad["dayData"]}
    assert len(days) == 120 and max(days) == yesterday.isoformat()


def test_revise_changes_only_recent_days(simulator: RunningSimulator) -> None:
    cid = simulator.users()[0]["ads_client_id"]
    start, end = last_days(simulator, 40)
    before = _rows(simulator.truth(cid, start, end))
    assert simulator.revise() == 1
    after = _rows(simulator.truth(cid, start, end))
    assert len(before) == len(after)
    today = simulator.app.state.today()
    changed_recent = 0
    for old, new in zip(before, after, strict=True):
        same = ("ad_id", "day", "views", "clicks", "cost", "unique_reach")
        assert [old[k] for k in same] == [new[k] for k in same]
        if (today - old["day"]).days >= 14:
            assert old == new, old["day"]
        elif (old["attributed_count"], old["attributed_value"]) != (
            new["attributed_count"],
            new["attributed_value"],
        ):
            changed_recent += 1
    assert changed_recent > 0


def test_recent_days_show_only_part_of_their_final_attribution() -> None:
    cids = _client_ids(5)
    day = TODAY - timedelta(days=60)
    fresh = generate_table(cids, day, day + timedelta(days=6), day + timedelta(days=8))
    final = generate_table(cids, day, day + timedelta(days=6), TODAY)
    counts_fresh = fresh["attributed_count"].to_pylist()
    counts_final = final["attributed_count"].to_pylist()
    assert all(a <= b for a, b in zip(counts_fresh, counts_final, strict=True))
    assert sum(counts_fresh) < sum(counts_final)
    assert fresh["views"] == final["views"] and fresh["cost"] == final["cost"]


def test_weekly_seasonality_is_visible() -> None:
    start = date(2026, 2, 2)  # a Monday; 12 whole weeks
    table = generate_table(_client_ids(8), start, start + timedelta(days=83), TODAY)
    totals: dict[int, int] = defaultdict(int)
    for day, views in zip(table["day"].to_pylist(), table["views"].to_pylist(), strict=True):
        totals[day.weekday()] += views
    midweek = (totals[1] + totals[2]) / 2
    assert totals[5] < 0.85 * midweek  # Saturday dips
    assert totals[6] > totals[5] * 1.3  # Sunday evening shopping


def test_some_ads_start_mid_history() -> None:
    start, end = TODAY - timedelta(days=730), TODAY - timedelta(days=1)
    cid = _client_ids(1)[0]
    table = generate_table([cid], start, end, TODAY)
    first_day: dict[str, date] = {}
    for ad, day in zip(table["ad_id"].to_pylist(), table["day"].to_pylist(), strict=True):
        first_day.setdefault(ad, day)
    assert min(first_day.values()) == start
    late = [d for d in first_day.values() if d > start]
    assert late, "some ads must start after the start of the served history"
    counts: dict[str, int] = defaultdict(int)
    for ad in table["ad_id"].to_pylist():
        counts[ad] += 1
    assert all(counts[ad] == (end - first_day[ad]).days + 1 for ad in counts)  # no gaps


def test_client_structures_stay_within_the_documented_sizes() -> None:
    sizes = []
    for cid in _client_ids(150):
        s = client_structure(42, cid)
        assert 2 <= len(s.campaigns) <= 12
        groups_per_campaign = [int((s.group_campaign == c).sum()) for c in range(len(s.campaigns))]
        assert all(1 <= g <= 5 for g in groups_per_campaign)
        ads_per_group = [int((s.ad_group == g).sum()) for g in range(len(s.group_ids))]
        assert all(1 <= a <= 20 for a in ads_per_group)
        assert all((o is None) == bool(g) for o, g in zip(s.offer_ids, s.ad_graphic, strict=True))
        assert len(set(s.ad_ids)) == len(s.ad_ids)
        sizes.append(len(s.ad_ids))
    assert min(sizes) < 50 and max(sizes) > 300  # small shops and big ones
    assert not all(client_structure(42, c).ad_graphic.any() for c in _client_ids(150))


def test_sellers_are_deterministic_and_look_real() -> None:
    sellers, agencies = make_users(42, 12)
    assert [s.login for s in sellers[:2]] == ["seller01", "seller02"]
    assert make_users(42, 12) == (sellers, agencies)
    assert make_users(42, 3)[0] == sellers[:3]  # more users do not renumber the first ones
    assert len({s.user_id for s in (*sellers, *agencies)}) == 13
    assert all(s.user_id.isdigit() for s in sellers)
    assert all(uuid.UUID(str(s.ads_client_id)) for s in sellers)
    assert [(a.login, a.ads_client_id, a.is_agency) for a in agencies] == [("agency", None, True)]
    assert {s.agency_login for s in sellers} == {"agency"}
    assert all(s.name and s.email.endswith(".test") for s in sellers)


def test_a_second_agency_takes_every_other_seller_and_changes_no_one_else() -> None:
    one_sellers, (first,) = make_users(42, 6)
    sellers, agencies = make_users(42, 6, agencies=2)
    assert [a.login for a in agencies] == ["agency", "agency2"]
    assert agencies[0] == first  # the first agency keeps its id
    assert [s.agency_login for s in sellers] == ["agency", "agency2"] * 3
    same = [(s.login, s.user_id, s.ads_client_id) for s in sellers]
    assert same == [(s.login, s.user_id, s.ads_client_id) for s in one_sellers]
    assert len({u.user_id for u in (*sellers, *agencies)}) == 8


def test_table_has_the_documented_schema_and_never_today() -> None:
    cids = _client_ids(2)
    table = generate_table(cids, TODAY - timedelta(days=3), TODAY + timedelta(days=3), TODAY)
    assert table.schema == TABLE_SCHEMA
    assert max(table["day"].to_pylist()) == TODAY - timedelta(days=1)
    assert set(table["ads_client_id"].to_pylist()) == set(cids)
    lean = generate_table(cids, TODAY - timedelta(days=3), TODAY, TODAY, dictionary=True)
    assert pa.types.is_dictionary(lean.schema.field("ad_id").type)
    assert lean.cast(TABLE_SCHEMA).to_pylist() == table.to_pylist()


def test_each_ad_type_has_only_its_own_metrics_in_the_table() -> None:
    table = generate_table(_client_ids(10), TODAY - timedelta(days=3), TODAY, TODAY)
    graphic_only = ("unique_reach", "effective_cpm", "attributed_to_core_value")
    types = set()
    for row in table.to_pylist():
        graphic = row["ad_type"] == "GRAPHIC_AD"
        types.add(row["ad_type"])
        assert (row["effective_cpc"] is None) == graphic
        assert all((row[c] is None) != graphic for c in graphic_only)
    assert types == {"SPONSORED_OFFER", "GRAPHIC_AD"}


def test_table_agrees_with_the_statistics_json_to_the_grosz() -> None:
    cid = next(c for c in _client_ids(10) if client_structure(42, c).ad_graphic.any())
    start, end = TODAY - timedelta(days=20), TODAY - timedelta(days=1)
    table = generate_table([cid], start, end, TODAY, revision=3)
    from_json = _rows(statistics_document(cid, start, end, TODAY, revision=3))
    columns = [
        "ad_id",
        "day",
        "ad_type",
        "offer_id",
        "campaign_id",
        "ad_group_id",
        *_FIELDS.values(),
    ]
    key = [columns.index("ad_id"), columns.index("day")]

    def ordered(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (tuple(r[c] for c in columns) for r in rows), key=lambda t: [t[k] for k in key]
        )

    assert ordered(from_json) == ordered(table.to_pylist())
    assert len(from_json) > 100


def test_ratios_are_rounded_half_up_from_the_base_figures() -> None:
    table = generate_table(_client_ids(10), TODAY - timedelta(days=30), TODAY, TODAY)
    assert "GRAPHIC_AD" in table["ad_type"].to_pylist()
    nonzero = 0
    for r in table.to_pylist():
        assert 0 <= r["clicks"] <= r["views"] and r["interest"] <= r["views"]
        views, clicks, cost, value = r["views"], r["clicks"], r["cost"], r["attributed_value"]
        ctr = (Decimal(clicks) / views).quantize(Decimal("0.0001"), ROUND_HALF_UP) if views else 0
        cpc = (cost / clicks).quantize(CENTS, ROUND_HALF_UP) if clicks else 0
        cpm = (cost * 1000 / views).quantize(CENTS, ROUND_HALF_UP) if views else 0
        ror = (value / cost).quantize(CENTS, ROUND_HALF_UP) if cost else 0
        per_mille_or_click = (
            r["effective_cpm"] if r["ad_type"] == "GRAPHIC_AD" else r["effective_cpc"]
        )
        expected = cpm if r["ad_type"] == "GRAPHIC_AD" else cpc
        assert (r["ctr"], per_mille_or_click, r["rate_of_return"]) == (ctr, expected, ror)
        nonzero += bool(value)
    assert nonzero > 50


def test_serving_a_31_day_window_of_a_big_client_is_fast() -> None:
    cid = max(_client_ids(40), key=lambda c: len(client_structure(42, c).ad_ids))
    assert len(client_structure(42, cid).ad_ids) >= 300
    start, end = TODAY - timedelta(days=31), TODAY - timedelta(days=1)
    statistics_json(cid, start, end, TODAY)  # warm-up: structure cache, Arrow kernels
    spent = []
    for _ in range(3):
        began = time.process_time()
        statistics_json(cid, start, end, TODAY)
        spent.append(time.process_time() - began)
    assert min(spent) < 0.1, spent


def test_a_repeated_window_is_answered_from_memory_with_the_same_bytes() -> None:
    cid = _client_ids(1)[0]
    start, end = TODAY - timedelta(days=31), TODAY - timedelta(days=1)
    RENDERED.clear()

    first = served_statistics_json(cid, start, end, TODAY, revision=1)
    again = served_statistics_json(cid, start, end, TODAY, revision=1)

    assert again is first
    assert first == statistics_json(cid, start, end, TODAY, revision=1)


def test_another_revision_or_type_filter_is_rendered_anew() -> None:
    cid = _client_ids(1)[0]
    start, end = TODAY - timedelta(days=10), TODAY - timedelta(days=1)
    served_statistics_json(cid, start, end, TODAY, revision=1)

    revised = served_statistics_json(cid, start, end, TODAY, revision=2)
    graphic = served_statistics_json(cid, start, end, TODAY, revision=2, ad_types=["GRAPHIC_AD"])

    assert revised == statistics_json(cid, start, end, TODAY, revision=2)
    assert revised != statistics_json(cid, start, end, TODAY, revision=1)
    assert graphic == statistics_json(cid, start, end, TODAY, revision=2, ad_types=["GRAPHIC_AD"])
