"""How numbers look on report pages (exports keep the raw values)."""

from __future__ import annotations

from decimal import Decimal

DASH = "\u2013"  # en dash


def count(value: int | None) -> str:
    """12 345 (thin-spaced thousands)."""
    return DASH if value is None else f"{value:,}".replace(",", "\u202f")


def money(value: Decimal | None) -> str:
    """12 345.67"""
    return DASH if value is None else f"{value:,.2f}".replace(",", "\u202f")


def percent(value: Decimal | None) -> str:
    """A 0..1 ratio as 1.23 %."""
    return DASH if value is None else f"{value * 100:.2f} %"


def ratio(value: Decimal | None) -> str:
    """ROAS as 4.56"""
    return DASH if value is None else f"{value:.2f}"


HELPERS = {"count": count, "money": money, "percent": percent, "ratio": ratio}
