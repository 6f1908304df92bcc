"""A period against the previous period of the same length: figures now and then, the change
between them, and the KPIs of the overview, per currency (amounts in different currencies are
never added up). Money stays ``Decimal``; ratios round half up like the warehouse."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from authorize_app.portal.report_model import PeriodSums

Number = Decimal | int


@dataclass(frozen=True, slots=True)
class Compared:
    """One figure in the period (``current``) and in the previous one (``previous``)."""

    current: Decimal | None
    previous: Decimal | None

    @property
    def change(self) -> Decimal | None:
        """(current - previous) / previous, rounded half up to 4 places (0.1234 is +12.34 %);
        None when either is unknown or there was nothing before to compare with."""
        return relative_change(self.current, self.previous)


def relative_change(current: Number | None, previous: Number | None) -> Decimal | None:
    """The relative change from ``previous`` to ``current``; None without a non-zero base."""
    if current is None or previous is None or not previous:
        return None
    change = (Decimal(current) - Decimal(previous)) / abs(Decimal(previous))
    return change.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


KPI_NAMES = ("cost", "clicks", "ctr", "cpc", "attributed_count", "attributed_value", "roas")


@dataclass(frozen=True, slots=True)
class Kpis:
    """The overview's tiles of one currency: each KPI now, before and its change."""

    currency: str
    current: PeriodSums
    previous: PeriodSums

    def compared(self, name: str) -> Compared:
        return compared(self.current, self.previous, name)


def compared(current: PeriodSums, previous: PeriodSums, name: str) -> Compared:
    """The metric ``name`` (a sum or a ratio) of ``current`` against ``previous``."""
    now, then = getattr(current, name), getattr(previous, name)
    return Compared(_decimal(now), _decimal(then))


def kpis_per_currency(rows: Iterable[tuple[str, PeriodSums, PeriodSums]]) -> list[Kpis]:
    """(currency, current, previous) rows added up per currency, by currency."""
    sums: dict[str, tuple[PeriodSums, PeriodSums]] = {}
    for currency, current, previous in rows:
        now, then = sums.get(currency, (PeriodSums(), PeriodSums()))
        sums[currency] = (now + current, then + previous)
    return [Kpis(currency, now, then) for currency, (now, then) in sorted(sums.items())]


def _decimal(value: Number | None) -> Decimal | None:
    return None if value is None else Decimal(value)
