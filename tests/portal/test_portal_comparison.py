"""The previous period and the change against it: the period of the same length just before,
relative changes that never divide by zero, KPIs added up per currency only, and the
warehouse's comparison query agreeing with the facts summed directly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from authorize_app.portal.comparison import (
    Compared,
    kpis_per_currency,
    relative_change,
)
from authorize_app.portal.report_model import PeriodSums
from tests.portal.portal_helpers import PortalStack
from warehouse.comparison_queries import customer_comparison, previous_period


@pytest.mark.parametrize(
    ("start", "end", "before"),
    [
        (date(2026, 3, 1), date(2026, 3, 31), (date(2026, 1, 29), date(2026, 2, 28))),
        (date(2026, 3, 5), date(2026, 3, 5), (date(2026, 3, 4), date(2026, 3, 4))),
        (date(2024, 3, 1), date(2024, 3, 7), (date(2024, 2, 23), date(2024, 2, 29))),
    ],
)
def test_the_previous_period_has_the_same_length_and_ends_the_day_before(
    start: date, end: date, before: tuple[date, date]
) -> None:
    assert previous_period(start, end) == before
    assert (before[1] - before[0]) == (end - start)
    assert before[1] + timedelta(days=1) == start


def test_a_period_that_ends_before_it_starts_has_no_previous_period() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        previous_period(date(2026, 3, 2), date(2026, 3, 1))


@pytest.mark.parametrize(
    ("current", "previous", "change"),
    [
        (Decimal("150.00"), Decimal("100.00"), Decimal("0.5000")),
        (Decimal("50"), Decimal("200"), Decimal("-0.7500")),
        (1, 3, Decimal("-0.6667")),  # rounded half up to 4 places
        (Decimal("10"), Decimal("0"), None),  # nothing before: no base to compare with
        (None, Decimal("5"), None),
        (Decimal("-5"), Decimal("-10"), Decimal("0.5000")),  # against the size of the base
    ],
)
def test_the_change_is_relative_to_the_previous_period(
    current: Decimal | int | None, previous: Decimal | int | None, change: Decimal | None
) -> None:
    assert relative_change(current, previous) == change


def test_ratios_are_compared_from_the_sums_never_averaged() -> None:
    now = PeriodSums(views=1000, clicks=50, cost=Decimal("100.00"), attributed_value=Decimal(300))
    then = PeriodSums(views=1000, clicks=40, cost=Decimal("80.00"), attributed_value=Decimal(160))
    (kpis,) = kpis_per_currency([("PLN", now, then)])
    assert kpis.compared("roas") == Compared(Decimal("3.00"), Decimal("2.00"))
    assert kpis.compared("roas").change == Decimal("0.5000")
    assert kpis.compared("ctr").current == Decimal("0.0500")
    assert kpis.compared("cpc").change == Decimal("0.0000")  # 2.00 both times


def test_kpis_add_up_customers_of_one_currency_only() -> None:
    one = PeriodSums(clicks=1, cost=Decimal("10.00"))
    two = PeriodSums(clicks=2, cost=Decimal("5.50"))
    kpis = kpis_per_currency([("PLN", one, two), ("EUR", two, one), ("PLN", two, two)])
    assert [k.currency for k in kpis] == ["EUR", "PLN"]
    pln = kpis[1]
    assert pln.current.cost == Decimal("15.50") and pln.previous.cost == Decimal("11.00")


def test_the_comparison_query_equals_the_facts_summed_per_period(portal: PortalStack) -> None:
    alpha = portal.north[0]
    end = portal.end
    start = end - timedelta(days=6)
    (row,) = customer_comparison(portal.warehouse, [alpha.id], start, end).to_pylist()
    prev_start, prev_end = previous_period(start, end)

    def summed(first: date, last: date) -> dict[str, object]:
        table = portal.warehouse.read(
            "SELECT SUM(cost) AS cost, SUM(clicks) AS clicks, SUM(views) AS views, "
            "SUM(attributed_count) AS attributed_count, SUM(attributed_value) AS attributed_value "
            "FROM ad_daily_stats WHERE customer_id = $id AND day BETWEEN $first AND $last",
            {"id": alpha.id, "first": first, "last": last},
        )
        totals: dict[str, object] = table.to_pylist()[0]
        return totals

    now, then = summed(start, end), summed(prev_start, prev_end)
    assert now["cost"] and then["cost"]  # the stack holds data in both periods
    for name in ("cost", "clicks", "views", "attributed_count", "attributed_value"):
        assert row[name] == now[name], name
        assert row[f"prev_{name}"] == then[name], name
