"""Ratios of sums round as the warehouse's views do, wherever they are shown."""

from __future__ import annotations

from decimal import Decimal

from warehouse.ratios import ratio


def test_a_ratio_rounds_half_up_to_its_places() -> None:
    assert ratio(Decimal("1.005"), 1, 2) == Decimal("1.01")
    assert ratio(1, 8, 2) == Decimal("0.13")  # 0.125, half up
    assert ratio(1, 3, 4) == Decimal("0.3333")


def test_a_ratio_over_zero_has_no_value() -> None:
    assert ratio(Decimal("12.50"), 0, 2) is None
    assert ratio(0, Decimal("0.00"), 2) is None
