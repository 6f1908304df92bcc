"""stats_columnar, the first tier: day records in the canonical compact layout read as columns
of text. It builds exactly the msgspec tier's table; anything else it refuses (``WireRefused``)
and the slower tiers read, or name, the body as before."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from allegro_resource import day_records, stats_wire
from allegro_resource.errors import MalformedResponse
from allegro_resource.stats_columnar import GRAPHIC_KEYS, SPONSORED_KEYS, decode_columnar
from allegro_resource.stats_columns import WireRefused
from allegro_resource.stats_parse import parse_statistics
from allegro_resource.stats_wire import decode_statistics
from simulator.data import statistics_json
from simulator.entities import GRAPHIC_AD, SPONSORED_OFFER, make_users

ENDPOINT = "/advertising-agencies/clients/ac-1/statistics"
TODAY = date(2026, 12, 7)

_SPONSORED = {
    "views": 157,
    "clicks": 3,
    "interest": 2,
    "totalCost": "4.20",
    "ctr": "0.0191",
    "totalAttributionCount": 0,
    "totalAttributionValue": "0.00",
    "effectiveCpc": "1.40",
    "rateOfReturn": "0.00",
}
_GRAPHIC = {
    key: _SPONSORED.get(key, 0)
    for key in GRAPHIC_KEYS
    if key not in ("effectiveCpm", "attributedToCoreValue")
} | {"effectiveCpm": "25.72", "attributedToCoreValue": "0.05", "uniqueReach": 950}


def _record(day: str, graphic: bool = False, **overrides: Any) -> dict[str, Any]:
    """A day record with its metrics in the canonical order (``overrides`` keep their place)."""
    keys = GRAPHIC_KEYS if graphic else SPONSORED_KEYS
    base = _GRAPHIC if graphic else _SPONSORED
    data = {key: overrides.get(key, base[key]) for key in keys}
    data |= {key: value for key, value in overrides.items() if key not in data}
    return {"day": day, "data": data}


def _ad(n: int, records: list[dict[str, Any]], graphic: bool = False) -> dict[str, Any]:
    ad: dict[str, Any] = {"id": f"a{n}", "name": f'Ad "{n}" Żółć'}
    if not graphic:
        ad["offerId"] = f"{n}000"
    return {
        "campaign": {"id": "c", "name": "Spring \\ sale"},
        "adGroup": {"id": "g", "name": "Shoes"},
        "ad": ad,
        "dayData": records,
    }


def _body(
    sponsored: list[list[dict[str, Any]]], graphic: tuple[list[dict[str, Any]], ...] = ()
) -> bytes:
    """The answer, compact as Allegro and the simulator send it."""
    document = {
        "sponsoredOffers": [_ad(n, records) for n, records in enumerate(sponsored)],
        "graphicAds": [_ad(n, records, graphic=True) for n, records in enumerate(graphic)],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _one(**overrides: Any) -> bytes:
    """A sponsored offer's one day, with these metrics."""
    return _body([[_record("2026-11-01", **overrides)]])


def _parse(body: bytes) -> pa.Table:
    return parse_statistics(body, ads_client_id="ac-1", endpoint=ENDPOINT, customer_id="cu-1")


def _same_as_the_msgspec_tier(body: bytes) -> pa.Table:
    table = decode_columnar(body, ads_client_id="ac-1")
    table.validate(full=True)
    assert table.equals(decode_statistics(body, ads_client_id="ac-1"))
    return table


def _windows(seed: int, clients: int) -> list[tuple[str, date, date]]:
    sellers, _ = make_users(seed, clients)
    ids = [s.ads_client_id for s in sellers if s.ads_client_id]
    spans = [(TODAY - timedelta(days=31), TODAY - timedelta(days=1)), (TODAY, TODAY)]
    spans.append((date(2025, 12, 1), date(2026, 3, 1)))  # across a year and February
    return [(client, first, last) for client in ids for first, last in spans]


@pytest.mark.parametrize("seed", [1, 7, 42])
@pytest.mark.parametrize(
    "ad_types", [(SPONSORED_OFFER, GRAPHIC_AD), (SPONSORED_OFFER,), (GRAPHIC_AD,)]
)
def test_simulator_answers_are_read_by_this_tier_to_the_msgspec_tiers_table(
    seed: int, ad_types: tuple[str, ...]
) -> None:
    for client, first, last in _windows(seed, 3):
        body = statistics_json(client, first, last, TODAY, seed=seed, ad_types=ad_types)

        _same_as_the_msgspec_tier(body)


def test_parse_statistics_reads_the_simulators_answers_with_this_tier_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, first, last = _windows(42, 2)[0]
    body = statistics_json(client, first, last, TODAY, seed=42)
    expected = decode_statistics(body, ads_client_id="ac-1")

    def not_called(body: bytes, *, ads_client_id: str) -> pa.Table:
        raise AssertionError("the msgspec tier read an answer in the canonical layout")

    monkeypatch.setattr(stats_wire, "decode_statistics", not_called)

    assert _parse(body).equals(expected)


def test_ads_without_days_and_answers_without_ads_are_read() -> None:
    days = [_record("2026-11-01"), _record("2026-11-02")]
    graphic = [_record("2026-11-01", True)]

    for body in (
        _body([[], days, [], days[:1], []], ([], graphic, [])),
        _body([[]], ([],)),
        _body([]),
        b'{"sponsoredOffers":[]}',
        b"{}",
    ):
        _same_as_the_msgspec_tier(body)


def test_graphic_ads_rows_are_null_where_they_carry_no_metric() -> None:
    body = _body([[_record("2026-11-01")]], ([_record("2026-11-01", True)],))

    table = _same_as_the_msgspec_tier(body)

    assert table["offer_id"].to_pylist() == ["0000", None]
    assert table["effective_cpc"].to_pylist() == [Decimal("1.40"), None]
    assert table["unique_reach"].to_pylist() == [None, 950]
    assert table["effective_cpm"].to_pylist() == [None, Decimal("25.72")]
    assert table["attributed_to_core_value"].to_pylist() == [None, Decimal("0.05")]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("ctr", "0.00125", "0.0013"),  # the fifth place is 5: away from zero
        ("ctr", "0.00124999", "0.0012"),
        ("ctr", "-0.00125", "-0.0013"),
        ("ctr", "0.99995", "1.0000"),  # rounding carries into the integer part
        ("ctr", "0.000049999999999999", "0.0000"),  # eighteen places
        ("rateOfReturn", "1.005", "1.01"),
        ("rateOfReturn", "-1.005", "-1.01"),
        ("effectiveCpc", "2.994999", "2.99"),
        ("ctr", "0.5", "0.5000"),  # fewer places than the scale are padded
    ],
)
def test_ratios_are_rounded_half_away_from_zero(field: str, value: str, expected: str) -> None:
    table = _same_as_the_msgspec_tier(_one(**{field: value}))

    column = {"ctr": "ctr", "rateOfReturn": "rate_of_return", "effectiveCpc": "effective_cpc"}
    assert table[column[field]].to_pylist() == [Decimal(expected)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("totalCost", "-4.20"),
        ("totalCost", "-0.05"),
        ("totalCost", "-0.00"),
        ("totalAttributionValue", "-1234567890123456.78"),  # sixteen integer digits
        ("effectiveCpc", "-0.5"),
        ("totalCost", "0001.5"),  # leading zeros are in the decimal pattern
    ],
)
def test_negative_and_long_decimals_are_exact(field: str, value: str) -> None:
    table = _same_as_the_msgspec_tier(_one(**{field: value}))

    column = {"totalCost": "cost", "totalAttributionValue": "attributed_value"}
    assert table[column.get(field, "effective_cpc")].to_pylist() == [Decimal(value)]


def test_counts_up_to_sixteen_digits_are_read_here() -> None:
    table = _same_as_the_msgspec_tier(_one(views=9_999_999_999_999_999, clicks=12_345_678))

    assert table["views"].to_pylist() == [9_999_999_999_999_999]


def _refused_here(body: bytes) -> None:
    with pytest.raises(WireRefused):
        decode_columnar(body, ads_client_id="ac-1")


@pytest.mark.parametrize(
    "record",
    [
        {"data": _SPONSORED, "day": "2026-11-01"},  # keys in another order
        {"day": "2026-11-01", "data": dict(reversed(list(_SPONSORED.items())))},
        _record("2026-11-01", extra="x"),  # a key the wire format does not know
        _record("2026-11-01", totalCost="4"),  # a decimal string without a point
        _record("2026-11-01", views=12_345_678_901_234_567),  # 17 digits: the next tier's
    ],
)
def test_other_layouts_are_refused_here_and_read_by_the_next_tier_to_the_same_table(
    record: dict[str, Any],
) -> None:
    body = _body([[record]])
    canonical = _record(record["day"], **record["data"])

    _refused_here(body)

    assert _parse(body).equals(decode_statistics(_body([[canonical]]), ads_client_id="ac-1"))


def test_whitespace_between_tokens_is_refused_here_and_read_by_the_next_tier() -> None:
    body = _one()
    spaced = body.replace(b'"views":', b'"views": ')

    _refused_here(spaced)

    assert _parse(spaced).equals(_parse(body))


def test_a_day_data_key_outside_an_ad_is_refused_here() -> None:
    document = json.loads(_one())
    document["sponsoredOffers"][0]["campaign"]["dayData"] = []
    body = json.dumps(document, separators=(",", ":")).encode()

    _refused_here(body)

    assert _parse(body).equals(_parse(_one()))


def test_a_name_holding_the_day_data_key_is_only_a_name() -> None:
    document = json.loads(_one())
    document["sponsoredOffers"][0]["ad"]["name"] = '"dayData":[]'
    body = json.dumps(document, separators=(",", ":")).encode()

    table = _same_as_the_msgspec_tier(body)

    assert table["ad_name"].to_pylist() == ['"dayData":[]']


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("totalCost", "12345678901234567.00", "totalCost"),  # 17 integer digits
        ("ctr", "123456789012345.0", "ctr"),  # 15 integer digits: more than a ratio holds
        ("totalCost", "1.234", "totalCost"),  # money with a third place
        ("totalCost", "1e0", "totalCost"),
        ("totalCost", "1.", "totalCost"),
        ("totalCost", ".5", "totalCost"),
        ("totalCost", "--1.0", "totalCost"),
        ("totalCost", "1-0.0", "totalCost"),
        ("totalCost", "1/2.0", "totalCost"),
        ("totalCost", "1.-5", "totalCost"),
        ("totalCost", "1..5", "totalCost"),
        ("views", 2**63, "views"),  # does not fit int64: refused, never wrapped
        ("views", -1, "views"),
        ("views", 1.5, "views"),
        ("views", "157", "views"),
    ],
)
def test_values_the_strict_pass_refuses_are_refused_here_and_named_there(
    field: str, value: Any, named: str
) -> None:
    body = _one(**{field: value})

    _refused_here(body)
    with pytest.raises(MalformedResponse) as caught:
        _parse(body)

    assert caught.value.field == f"sponsoredOffers[0].dayData[0].data.{named}"


@pytest.mark.parametrize(
    "day",
    ["2026-02-30", "2026-13-01", "0000-01-01", "2026-1-01", "20261101", "20x6-11-01", "2x26-11-01"],
)
def test_a_day_that_is_not_a_real_yyyy_mm_dd_date_is_refused_here_and_named_there(
    day: str,
) -> None:
    body = _body([[_record(day)]])

    _refused_here(body)
    with pytest.raises(MalformedResponse) as caught:
        _parse(body)

    assert caught.value.field == "sponsoredOffers[0].dayData[0].day"


def test_a_leading_zero_in_a_count_is_not_json() -> None:
    body = _one().replace(b'"clicks":3', b'"clicks":03')

    _refused_here(body)
    with pytest.raises(MalformedResponse):
        _parse(body)


def test_a_rounded_ratio_at_the_edge_of_its_column_goes_to_the_next_tier() -> None:
    body = _one(rateOfReturn="9999999999999999.995")  # rounds to 10**16: does not fit

    _refused_here(body)
    with pytest.raises(MalformedResponse) as caught:
        _parse(body)

    assert caught.value.field == "rateOfReturn"


@pytest.mark.parametrize("value", ["-.5", "1.", "-1."])
def test_a_point_needs_digits_on_both_sides(value: str) -> None:
    body = _one(effectiveCpc=value)

    _refused_here(body)
    with pytest.raises(MalformedResponse):
        _parse(body)


@pytest.mark.parametrize(
    "day", ["2024-02-29", "2000-02-29", "1970-01-01", "0001-01-01", "9999-12-31", "2026-12-31"]
)
def test_real_dates_are_read_as_their_days(day: str) -> None:
    table = _same_as_the_msgspec_tier(_body([[_record(day)]]))

    assert table["day"].to_pylist() == [date.fromisoformat(day)]


@pytest.mark.parametrize(
    "day", ["2100-02-29", "2026-02-29", "2026-04-31", "2026-00-10", "2026-01-00"]
)
def test_days_that_are_not_in_the_calendar_are_refused_here_and_named_there(day: str) -> None:
    body = _body([[_record(day)]])

    _refused_here(body)
    with pytest.raises(MalformedResponse) as caught:
        _parse(body)

    assert caught.value.field == "sponsoredOffers[0].dayData[0].day"


def test_answers_of_the_shortest_records_fit_the_room_made_for_them() -> None:
    def shortest(key: str) -> Any:
        return "0.0" if isinstance(_SPONSORED.get(key, _GRAPHIC.get(key)), str) else 0

    sponsored = [
        _record("2026-11-01", **{key: shortest(key) for key in SPONSORED_KEYS}) for _ in range(50)
    ]
    graphic = [
        _record("2026-11-01", graphic=True, **{key: shortest(key) for key in GRAPHIC_KEYS})
        for _ in range(50)
    ]

    table = _same_as_the_msgspec_tier(_body([sponsored, sponsored], (graphic,)))

    assert table.num_rows == 150


def test_records_beyond_the_room_made_for_them_stop_the_pass() -> None:
    body = _body([[_record("2026-11-01"), _record("2026-11-02")]])
    start = body.index(b'"dayData":[') + len(b'"dayData":[')
    room = day_records.empty_records(1, 1)

    with pytest.raises(day_records.Refusal, match="more day records than there is room for"):
        day_records.read_records(
            np.frombuffer(body, np.uint8),
            np.array([start], np.int64),
            np.array([body.index(b"]", start)], np.int64),
            day_records.Layout.of(SPONSORED_KEYS),
            room,
            first_ad=0,
            first_row=0,
        )
