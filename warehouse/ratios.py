"""Ratios of sums (CTR, CPC, CPM, ROAS) as the warehouse's views round them: half up, to a
fixed number of places, and no value at all where the denominator is zero. Pages, e-mails and
exports round through this one function so they agree with the SQL to the last digit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def ratio(numerator: Decimal | int, denominator: Decimal | int, places: int) -> Decimal | None:
    """numerator / denominator rounded half up to ``places``; None when dividing by zero."""
    if not denominator:
        return None
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(quantum, rounding=ROUND_HALF_UP)
