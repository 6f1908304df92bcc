"""What a report shows, in stored and live mode alike: campaign rows, error rows, totals per
currency and a daily trend. Money stays ``Decimal``; ratios round half up like the warehouse."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from control_store.customers import Customer
from warehouse.ratios import ratio

DEFAULT_SORT = "-cost"


@dataclass(frozen=True, slots=True)
class CampaignRow:
    customer_id: str
    customer_name: str
    campaign_id: str
    campaign_name: str
    currency: str
    views: int
    clicks: int
    cost: Decimal
    attributed_count: int
    attributed_value: Decimal
    ctr: Decimal | None
    cpc: Decimal | None
    roas: Decimal | None


@dataclass(frozen=True, slots=True)
class ErrorRow:
    """A customer the report could not cover, why, and what to do."""

    customer_id: str
    customer_name: str
    message: str
    fix: str


class Additive(Protocol):
    """A row with the additive metrics."""

    @property
    def views(self) -> int: ...
    @property
    def clicks(self) -> int: ...
    @property
    def cost(self) -> Decimal: ...
    @property
    def attributed_count(self) -> int: ...
    @property
    def attributed_value(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class PeriodSums:
    """The additive metrics of one period (ratios are derived, never summed)."""

    views: int = 0
    clicks: int = 0
    cost: Decimal = Decimal(0)
    attributed_count: int = 0
    attributed_value: Decimal = Decimal(0)

    def __add__(self, other: PeriodSums) -> PeriodSums:
        return PeriodSums(
            self.views + other.views,
            self.clicks + other.clicks,
            self.cost + other.cost,
            self.attributed_count + other.attributed_count,
            self.attributed_value + other.attributed_value,
        )

    @property
    def ctr(self) -> Decimal | None:
        return ratio(self.clicks, self.views, 4)

    @property
    def cpc(self) -> Decimal | None:
        return ratio(self.cost, self.clicks, 2)

    @property
    def cpm(self) -> Decimal | None:
        return ratio(self.cost * 1000, self.views, 2)

    @property
    def roas(self) -> Decimal | None:
        return ratio(self.attributed_value, self.cost, 2)

    @classmethod
    def of_row(cls, row: Additive) -> PeriodSums:
        """The sums of one row (a campaign's, an ad-day's)."""
        return cls(row.views, row.clicks, row.cost, row.attributed_count, row.attributed_value)

    @classmethod
    def of(cls, record: Mapping[str, Any], prefix: str = "") -> PeriodSums:
        """The sums in a query row (``prev_`` prefix: the previous period's)."""
        return cls(
            int(record[f"{prefix}views"]),
            int(record[f"{prefix}clicks"]),
            Decimal(record[f"{prefix}cost"]),
            int(record[f"{prefix}attributed_count"]),
            Decimal(record[f"{prefix}attributed_value"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Totals(PeriodSums):
    """A currency's sums over the report's rows."""

    currency: str


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    cost: Decimal
    clicks: int
    attributed_value: Decimal

    @property
    def roas(self) -> Decimal | None:
        return ratio(self.attributed_value, self.cost, 2)


@dataclass(frozen=True, slots=True)
class OfferRow:
    """One of a customer's top offers by sponsored spend, named from its sales account."""

    customer_id: str
    customer_name: str
    rank: int
    offer_id: str
    offer_name: str | None  # None: never fetched (no sales-account connection)
    status: str | None
    stock_available: int | None
    unavailable: bool | None  # None: unknown
    currency: str
    spend: Decimal
    clicks: int
    attributed_value: Decimal


@dataclass(frozen=True, slots=True)
class UnavailableSpend:
    """A customer's sponsored spend, and the part of it on offers nobody can buy."""

    customer_id: str
    customer_name: str
    currency: str
    sponsored_spend: Decimal
    unavailable_spend: Decimal
    unavailable_offers: int


@dataclass(frozen=True, slots=True)
class GraphicAdRow:
    """A graphic ad over the range: CPM, and reach as the most on one day (never a sum)."""

    customer_id: str
    customer_name: str
    campaign_name: str
    ad_id: str
    ad_name: str
    currency: str
    days: int
    views: int
    clicks: int
    cost: Decimal
    cpm: Decimal | None
    max_daily_unique_reach: int | None


@dataclass
class Report:
    mode: str  # "stored" or "live"
    start: date
    end: date
    customers: list[Customer]
    rows: list[CampaignRow] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)
    days: list[DayPoint] = field(default_factory=list)
    freshness: dict[str, date | None] = field(default_factory=dict)
    offers: list[OfferRow] = field(default_factory=list)
    unavailable: list[UnavailableSpend] = field(default_factory=list)
    graphic_ads: list[GraphicAdRow] = field(default_factory=list)
    pulled_at: datetime | None = None

    @property
    def totals(self) -> list[Totals]:
        return totals_of(self.rows)


def totals_of(rows: Iterable[CampaignRow]) -> list[Totals]:
    """Sums per currency (amounts in different currencies are never added up)."""
    sums: dict[str, PeriodSums] = {}
    for row in rows:
        sums[row.currency] = sums.get(row.currency, PeriodSums()) + PeriodSums.of_row(row)
    return [Totals(**asdict(s), currency=currency) for currency, s in sorted(sums.items())]


def _text_key(value: str) -> str:
    return value.casefold()


# The only sort keys the report accepts (``sort=key`` ascending, ``sort=-key`` descending).
SORT_KEYS: dict[str, Callable[[CampaignRow], Any]] = {
    "customer": lambda r: _text_key(r.customer_name),
    "campaign": lambda r: _text_key(r.campaign_name),
    "views": lambda r: r.views,
    "clicks": lambda r: r.clicks,
    "ctr": lambda r: r.ctr,
    "cost": lambda r: r.cost,
    "cpc": lambda r: r.cpc,
    "sales": lambda r: r.attributed_count,
    "sales_value": lambda r: r.attributed_value,
    "roas": lambda r: r.roas,
}
SORT_CHOICES = frozenset({*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)})


def sort_rows(rows: Sequence[CampaignRow], sort: str) -> list[CampaignRow]:
    """Rows by a whitelisted key (``-key``: descending); rows without a value go last."""
    key = SORT_KEYS[sort.removeprefix("-")]
    base = sorted(rows, key=lambda r: (_text_key(r.customer_name), r.campaign_id))
    present = [r for r in base if key(r) is not None]
    missing = [r for r in base if key(r) is None]
    present.sort(key=key, reverse=sort.startswith("-"))  # stable: ties keep the base order
    return present + missing
