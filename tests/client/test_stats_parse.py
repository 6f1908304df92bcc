"""parse_statistics: a statistics answer straight to Arrow, strict, exact, naming bad fields."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from allegro_resource.errors import MalformedResponse
from allegro_resource.models import AdType, StatRow
from allegro_resource.models import stat_rows_from_table as rows_of
from allegro_resource.stats_parse import (
    STATS_SCHEMA,
    DayMetricsDoc,
    GraphicDayMetricsDoc,
    parse_statistics,
)

ENDPOINT = "/advertising-agencies/clients/ac-1/statistics"


def _metrics(**overrides: Any) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "views": 1200,
        "clicks": 30,
        "interest": 4,
        "totalCost": "1234567.89",
        "ctr": "0.0250",
        "totalAttributionCount": 2,
        "totalAttributionValue": "0.1",
        "effectiveCpc": "41152.26",
        "rateOfReturn": "0.00",
    }
    return metrics | overrides


def _ad(ad_id: str, days: list[dict[str, Any]], offer_id: str | None = "of-1") -> dict[str, Any]:
    ad: dict[str, Any] = {"id": ad_id, "name": f"Ad {ad_id}"}
    if offer_id is not None:
        ad["offerId"] = offer_id
    return {
        "campaign": {"id": "c-1", "name": "Spring"},
        "adGroup": {"id": "g-1", "name": "Shoes"},
        "ad": ad,
        "dayData": days,
    }


def _day(day: str = "2024-03-01", **metrics: Any) -> dict[str, Any]:
    return {"day": day, "data": _metrics(**metrics)}


def _gday(day: str = "2024-03-01", **metrics: Any) -> dict[str, Any]:
    """A graphic ad's day: reach, CPM and core value, no CPC."""
    data = _metrics(effectiveCpm="25.72", uniqueReach=950, attributedToCoreValue="0.05")
    del data["effectiveCpc"]
    return {"day": day, "data": data | metrics}


def _parse(document: dict[str, Any]) -> pa.Table:
    return parse_statistics(
        json.dumps(document).encode(), ads_client_id="ac-1", endpoint=ENDPOINT, customer_id="cu-1"
    )


def _refused(document: dict[str, Any]) -> MalformedResponse:
    with pytest.raises(MalformedResponse) as caught:
        _parse(document)
    assert ENDPOINT in str(caught.value) and "customer cu-1" in str(caught.value)
    return caught.value


def test_every_decimal_equals_its_string_exactly() -> None:
    document = {
        "sponsoredOffers": [_ad("a", [_day(), _day("2024-03-02", totalCost="-0.05", ctr="1")])],
        "graphicAds": [_ad("g", [_gday(totalAttributionValue="9999999999999999.99")], None)],
    }

    table = _parse(document)

    assert table.schema == STATS_SCHEMA
    first, second, graphic = table.to_pylist()
    assert first["ads_client_id"] == "ac-1" and first["ad_type"] == "SPONSORED_OFFER"
    assert (first["day"], first["views"], first["offer_id"]) == (date(2024, 3, 1), 1200, "of-1")
    assert (first["cost"], first["attributed_value"]) == (Decimal("1234567.89"), Decimal("0.10"))
    assert (first["ctr"], first["effective_cpc"]) == (Decimal("0.0250"), Decimal("41152.26"))
    assert (second["cost"], second["ctr"]) == (Decimal("-0.05"), Decimal("1"))
    assert (graphic["ad_type"], graphic["offer_id"]) == ("GRAPHIC_AD", None)
    assert graphic["attributed_value"] == Decimal("9999999999999999.99")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("abc", "views"),
        ("12", "clicks"),  # a number sent as a string
        (3.0, "interest"),  # a float where an int belongs
        (True, "totalAttributionCount"),
        (-1, "views"),
        (12.5, "totalCost"),  # money as a JSON number: could already have lost a grosz
        ("1e3", "totalAttributionValue"),
        ("", "effectiveCpc"),
    ],
)
def test_a_wrong_type_names_the_field(value: object, field: str) -> None:
    days = [_day(), _day("2024-03-02", **{field: value})]
    document = {"sponsoredOffers": [_ad("a", []), _ad("b", days)]}

    error = _refused(document)

    assert error.field == f"sponsoredOffers[1].dayData[1].data.{field}"
    assert f"field '{error.field}'" in str(error)


def test_a_missing_field_names_the_field() -> None:
    day = _gday()
    del day["data"]["clicks"]

    error = _refused({"graphicAds": [_ad("g", [day], None)]})

    assert error.field == "graphicAds[0].dayData[0].data.clicks"
    assert "Field required" in str(error)


@pytest.mark.parametrize("day", ["2024-02-30", "2024-3-01", "01.03.2024", "2024-03-01T00:00:00"])
def test_a_day_that_is_not_yyyy_mm_dd_is_refused(day: str) -> None:
    error = _refused({"sponsoredOffers": [_ad("a", [_day(day)])]})

    assert error.field == "sponsoredOffers[0].dayData[0].day"


def test_a_day_sent_as_a_number_is_refused() -> None:
    entry: dict[str, Any] = {"day": 1709251200, "data": _metrics()}

    assert _refused({"sponsoredOffers": [_ad("a", [entry])]}).field is not None


def test_unknown_fields_are_ignored() -> None:
    plain = {"sponsoredOffers": [_ad("a", [_day()])]}
    extra = {"sponsoredOffers": [_ad("a", [_day(unknownMetric="7")]) | {"new": 1}], "meta": {}}

    assert _parse(extra).equals(_parse(plain))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("totalCost", "1.234"),
        ("totalAttributionValue", "0.001"),
        ("totalCost", "12345678901234567.00"),  # 17 integer digits: beyond DECIMAL(18,2)
    ],
)
def test_money_with_places_or_digits_the_column_cannot_hold_is_refused(
    field: str, value: str
) -> None:
    error = _refused({"sponsoredOffers": [_ad("a", [_day(**{field: value})])]})

    assert error.field == f"sponsoredOffers[0].dayData[0].data.{field}"


def test_allegros_own_ratios_with_more_places_are_rounded_half_away_from_zero() -> None:
    day = _day(ctr="0.12345", effectiveCpc="1.005", rateOfReturn="-2.675")

    row = _parse({"sponsoredOffers": [_ad("a", [day])]}).to_pylist()[0]

    assert (row["ctr"], row["effective_cpc"], row["rate_of_return"]) == (
        Decimal("0.1235"),
        Decimal("1.01"),
        Decimal("-2.68"),
    )


def test_truncated_json_is_refused() -> None:
    body = json.dumps({"sponsoredOffers": [_ad("a", [_day()])]}).encode()

    with pytest.raises(MalformedResponse, match="Invalid JSON"):
        parse_statistics(body[:-20], ads_client_id="ac-1", endpoint=ENDPOINT, customer_id=None)


@pytest.mark.parametrize(
    "document",
    [{}, {"sponsoredOffers": [], "graphicAds": []}, {"sponsoredOffers": [_ad("a", [])]}],
    ids=["no-sections", "empty-sections", "ad-without-days"],
)
def test_an_empty_answer_gives_an_empty_table_with_the_schema(document: dict[str, Any]) -> None:
    table = _parse(document)

    assert table.num_rows == 0 and table.schema == STATS_SCHEMA


def test_rows_from_the_table_are_stat_rows_with_exact_decimals() -> None:
    table = _parse({"graphicAds": [_ad("g", [_gday(totalCost="0.10")], None)]})

    (row,) = rows_of(table)

    assert row.ad_type is AdType.GRAPHIC_AD and row.offer_id is None
    assert row.cost == Decimal("0.10") and str(row.cost) == "0.10"
    assert row.day == date(2024, 3, 1)


def test_stat_row_fields_are_the_schema_columns_in_order() -> None:
    assert [f.name for f in fields(StatRow)] == STATS_SCHEMA.names


@pytest.mark.parametrize("key", sorted(DayMetricsDoc.__required_keys__))
def test_every_metric_of_the_wire_format_is_required(key: str) -> None:
    day = _day()
    del day["data"][key]

    error = _refused({"sponsoredOffers": [_ad("a", [day])]})

    assert error.field == f"sponsoredOffers[0].dayData[0].data.{key}"


@pytest.mark.parametrize("key", sorted(GraphicDayMetricsDoc.__required_keys__))
def test_every_graphic_ad_metric_is_required(key: str) -> None:
    day = _gday()
    del day["data"][key]

    error = _refused({"graphicAds": [_ad("g", [day], None)]})

    assert error.field == f"graphicAds[0].dayData[0].data.{key}"


def test_graphic_ads_carry_reach_cpm_and_core_value_and_no_cpc() -> None:
    document = {
        "sponsoredOffers": [_ad("a", [_day()])],
        "graphicAds": [_ad("g", [_gday(effectiveCpc="9.99")], None)],  # a stray CPC is ignored
    }

    sponsored, graphic = _parse(document).to_pylist()

    assert (graphic["unique_reach"], graphic["effective_cpm"]) == (950, Decimal("25.72"))
    assert graphic["attributed_to_core_value"] == Decimal("0.05")
    assert graphic["effective_cpc"] is None
    assert sponsored["effective_cpc"] == Decimal("41152.26")
    assert (
        sponsored["unique_reach"],
        sponsored["effective_cpm"],
        sponsored["attributed_to_core_value"],
    ) == (None, None, None)


def test_a_graphic_ad_without_its_own_metrics_is_refused_even_with_a_cpc() -> None:
    error = _refused({"graphicAds": [_ad("g", [_day()], None)]})  # a sponsored offer's day

    assert error.field is not None and error.field.startswith("graphicAds[0].dayData[0].data.")


def test_unique_reach_must_be_an_integer() -> None:
    error = _refused({"graphicAds": [_ad("g", [_gday(uniqueReach="950")], None)]})

    assert error.field == "graphicAds[0].dayData[0].data.uniqueReach"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("totalCost", "+1.00"),  # Arrow's decimal cast takes a sign the wire format forbids
        ("totalCost", "1.230"),  # a third place, even a zero
        ("totalCost", "00000000000000001.00"),  # 17 integer digits, small as the value is
        ("totalAttributionValue", ".5"),
        ("totalAttributionValue", "5."),
        ("totalAttributionValue", "1.00\n"),
        ("ctr", "1E-2"),
    ],
)
def test_decimal_strings_outside_the_wire_pattern_are_refused(field: str, value: str) -> None:
    error = _refused({"sponsoredOffers": [_ad("a", [_day(**{field: value})])]})

    assert error.field == f"sponsoredOffers[0].dayData[0].data.{field}"


def test_a_repeated_key_counts_as_its_last_value() -> None:
    body = json.dumps({"sponsoredOffers": [_ad("a", [_day()])]}).replace(
        '"views": 1200', '"views": "abc", "views": 7'
    )

    table = parse_statistics(
        body.encode(), ads_client_id="ac-1", endpoint=ENDPOINT, customer_id=None
    )

    assert table.column("views").to_pylist() == [7]


def test_the_largest_count_and_the_earliest_day_are_taken() -> None:
    day = _day("0001-01-01", views=2**63 - 1)

    (row,) = _parse({"sponsoredOffers": [_ad("a", [day])]}).to_pylist()

    assert (row["day"], row["views"]) == (date(1, 1, 1), 2**63 - 1)


def test_digits_of_other_scripts_are_refused() -> None:
    # Arabic-Indic digits: a digit to a Unicode regex, never to a decimal column.
    error = _refused({"sponsoredOffers": [_ad("a", [_day(effectiveCpc="١٢")])]})

    assert error.field is not None and error.field.endswith("effectiveCpc")
