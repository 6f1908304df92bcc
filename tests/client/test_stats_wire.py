"""stats_wire, the fast path: it builds the strict pass's table, and what it cannot vouch for
it refuses (``WireRefused``) so that the strict pass names the field."""

from __future__ import annotations

import json
import random
from typing import Any

import pyarrow as pa
import pytest

from allegro_resource import stats_wire, string_columns
from allegro_resource.errors import MalformedResponse
from allegro_resource.stats_columns import WireRefused, ad_index, per_ad
from allegro_resource.stats_parse import _ADAPTER, _statistics_table, parse_statistics
from allegro_resource.stats_wire import decode_statistics
from allegro_resource.string_columns import repeated

ENDPOINT = "/advertising-agencies/clients/ac-1/statistics"


def _decimal(rng: random.Random, digits: int, places: int) -> str:
    """A decimal string of the wire format: up to ``digits`` integer digits (leading zeros
    too), up to ``places`` decimal places, sometimes negative."""
    text = "-" if rng.random() < 0.1 else ""
    text += "".join(rng.choices("0123456789", k=rng.randint(1, digits)))
    if (n := rng.randint(0, places)) > 0:
        text += "." + "".join(rng.choices("0123456789", k=n))
    return text


def _data(rng: random.Random, graphic: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "views": rng.choice([0, 1, rng.randint(0, 2**63 - 1)]),
        "clicks": rng.randint(0, 1000),
        "interest": rng.randint(0, 10),
        "totalCost": _decimal(rng, 16, 2),
        "ctr": _decimal(rng, 2, 18),  # more than 4 places: rounded half away from zero
        "totalAttributionCount": rng.randint(0, 5),
        "totalAttributionValue": _decimal(rng, 16, 2),
        "rateOfReturn": _decimal(rng, 6, 5),
    }
    if graphic:
        data |= {
            "effectiveCpm": _decimal(rng, 6, 4),
            "uniqueReach": rng.randint(0, 10**6),
            "attributedToCoreValue": _decimal(rng, 16, 2),
        }
    else:
        data["effectiveCpc"] = _decimal(rng, 15, 3)
    return data


def _document(seed: int) -> dict[str, Any]:
    """Ads of both types with random days, names (non-ASCII, empty) and offer ids (or none)."""
    rng = random.Random(seed)
    names = ["Buty", "Żółć i łódź", "", "x" * 300]
    sections: dict[str, Any] = {"sponsoredOffers": [], "graphicAds": []}
    for section, graphic in (("sponsoredOffers", False), ("graphicAds", True)):
        for n in range(rng.randint(0, 6)):
            ad: dict[str, Any] = {"id": f"{section}-{n}", "name": rng.choice(names)}
            if graphic or rng.random() < 0.8:
                ad["offerId"] = None if graphic else str(rng.randint(1, 10**11))
            days = [
                {"day": f"2026-{m:02d}-{d:02d}", "data": _data(rng, graphic)}
                for m, d in (
                    (rng.randint(1, 12), rng.randint(1, 28)) for _ in range(rng.randint(0, 40))
                )
            ]
            sections[section].append(
                {
                    "campaign": {"id": f"c{n % 2}", "name": rng.choice(names)},
                    "adGroup": {"id": f"g{n}", "name": rng.choice(names)},
                    "ad": ad,
                    "dayData": days,
                }
            )
    return sections


@pytest.mark.parametrize("seed", range(12))
def test_the_fast_path_builds_the_strict_pass_table(seed: int) -> None:
    body = json.dumps(_document(seed)).encode()

    fast = decode_statistics(body, ads_client_id="ac-1")
    strict = _statistics_table(_ADAPTER.validate_json(body), ads_client_id="ac-1")

    fast.validate(full=True)
    assert fast.equals(strict)


def _one_day(**metrics: Any) -> bytes:
    data = _data(random.Random(0), graphic=False) | metrics
    ad = {
        "campaign": {"id": "c", "name": "c"},
        "adGroup": {"id": "g", "name": "g"},
        "ad": {"id": "a", "name": "a"},
        "dayData": [{"day": "2026-01-01", "data": data}],
    }
    return json.dumps({"sponsoredOffers": [ad]}).encode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("totalCost", "1e01"),  # reads as the two values "1" and "1" once joined with "e0"
        ("totalAttributionValue", "0e00"),
        ("effectiveCpc", "1e0"),
        ("ctr", "2.5e0"),
    ],
)
def test_a_decimal_string_with_an_exponent_is_refused_and_named(field: str, value: str) -> None:
    body = _one_day(**{field: value})

    with pytest.raises(WireRefused):
        decode_statistics(body, ads_client_id="ac-1")
    with pytest.raises(MalformedResponse) as caught:
        parse_statistics(body, ads_client_id="ac-1", endpoint=ENDPOINT, customer_id="cu-1")
    assert caught.value.field == f"sponsoredOffers[0].dayData[0].data.{field}"


def test_strings_too_large_for_one_arrow_array_go_the_slow_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = json.dumps(_document(3)).encode()
    expected = decode_statistics(body, ads_client_id="ac-1")
    monkeypatch.setattr(string_columns, "MAX_STRING_BYTES", 10)
    monkeypatch.setattr(stats_wire, "MAX_STRING_BYTES", 10)

    with pytest.raises(WireRefused):
        decode_statistics(body, ads_client_id="ac-1")
    table = parse_statistics(body, ads_client_id="ac-1", endpoint=ENDPOINT, customer_id=None)

    assert table.equals(expected)


@pytest.mark.parametrize(
    ("values", "counts"),
    [
        (["a", None, "Żółć", "", "b"], [2, 3, 0, 1, 4]),
        ([None, None], [1, 2]),
        (["x"], [0]),
        ([], []),
    ],
)
def test_repeated_values_equal_a_take_of_the_values(
    values: list[str | None], counts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = per_ad(values, ad_index(counts))

    built = repeated(values, counts)
    monkeypatch.setattr(string_columns, "MAX_STRING_BYTES", 0)
    taken = repeated(values, counts)

    built.validate(full=True)
    assert built.equals(expected) and taken.equals(expected)
    assert built.type == pa.string()
