"""stats_table_to_facts / stat_rows_to_arrow: the client's statistics as the table a load takes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from allegro_resource.models import AdType
from allegro_resource.stats_parse import STATS_SCHEMA
from testing.stat_tables import stat_rows_to_arrow, stat_rows_to_table
from warehouse.stats_frames import stats_table_to_facts
from warehouse.stats_schema import LOAD_SCHEMA

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

FETCHED = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)


def test_rows_become_load_columns_with_decimals_exact(factory: StatFactory) -> None:
    rows = [
        factory.row(cost="1234567.89", attributed_value="0.1"),
        factory.row(ad_id="g", ad_type=AdType.GRAPHIC_AD, cost="0.05"),
    ]

    table = stat_rows_to_arrow("cust-1", rows, currency="PLN", run_id=None, fetched_at=FETCHED)

    assert table.schema == LOAD_SCHEMA
    first, second = table.to_pylist()
    assert (first["cost"], first["attributed_value"]) == (Decimal("1234567.89"), Decimal("0.10"))
    assert (first["api_ctr"], first["api_cpc"]) == (Decimal("0.0250"), Decimal("49382.72"))
    assert (second["ad_type"], second["offer_id"], second["cost"]) == (
        "GRAPHIC_AD",
        None,
        Decimal("0.05"),
    )
    assert {
        (r["customer_id"], r["currency"], r["run_id"], r["fetched_at"]) for r in (first, second)
    } == {("cust-1", "PLN", None, FETCHED)}


def test_money_with_more_than_two_decimal_places_is_refused(factory: StatFactory) -> None:
    rows = [factory.row(), factory.row(ad_id="odd", cost="0.125")]

    with pytest.raises(ValueError, match=r"cost Decimal\('0.125'\) of ad odd .* never rounded"):
        stat_rows_to_arrow("cust-1", rows, currency="PLN", run_id=None, fetched_at=FETCHED)


def test_api_ratios_with_more_places_are_rounded_half_up(factory: StatFactory) -> None:
    rows = [factory.row(ctr=Decimal("0.12345"), rate_of_return=Decimal("-2.675"))]

    table = stat_rows_to_arrow("cust-1", rows, currency="PLN", run_id=None, fetched_at=FETCHED)

    assert table["api_ctr"].to_pylist() == [Decimal("0.1235")]
    assert table["api_roas"].to_pylist() == [Decimal("-2.68")]


def test_no_rows_give_an_empty_table_with_the_load_schema() -> None:
    table = stat_rows_to_arrow("cust-1", [], currency="PLN", run_id="r", fetched_at=FETCHED)

    assert table.num_rows == 0 and table.schema == LOAD_SCHEMA


def test_a_naive_fetched_at_or_a_bad_currency_is_refused(factory: StatFactory) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        stat_rows_to_arrow(
            "c", [factory.row()], currency="PLN", run_id=None, fetched_at=datetime(2024, 3, 1)
        )
    with pytest.raises(ValueError, match="three-letter ISO code"):
        stat_rows_to_arrow("c", [factory.row()], currency="zł", run_id=None, fetched_at=FETCHED)


def test_a_fetched_table_becomes_the_load_table_with_api_ratios_renamed(
    factory: StatFactory,
) -> None:
    rows = [factory.row(), factory.row(ad_id="g", ad_type=AdType.GRAPHIC_AD, cost="0.05")]
    stats = stat_rows_to_table(rows)
    chunked = pa.concat_tables([stats.slice(0, 1), stats.slice(1)])  # as fetched, one per window

    table = stats_table_to_facts("cust-1", chunked, currency="PLN", run_id="r", fetched_at=FETCHED)

    assert stats.select(STATS_SCHEMA.names).schema == STATS_SCHEMA
    assert table.schema == LOAD_SCHEMA
    assert table["api_ctr"].equals(stats["ctr"]) and table["api_roas"].equals(
        stats["rate_of_return"]
    )
    assert table.equals(
        stat_rows_to_arrow("cust-1", rows, currency="PLN", run_id="r", fetched_at=FETCHED)
    )
    assert set(table["customer_id"].to_pylist()) == {"cust-1"}


def test_a_table_without_the_statistics_columns_is_refused(factory: StatFactory) -> None:
    table = stat_rows_to_table([factory.row()]).drop_columns(["ctr"])

    with pytest.raises(ValueError, match="lacks columns ctr"):
        stats_table_to_facts("c", table, currency="PLN", run_id=None, fetched_at=FETCHED)
