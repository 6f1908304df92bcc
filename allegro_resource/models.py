"""Shapes of Allegro's answers (pydantic, strict where a wrong shape would corrupt data)
and the flat rows the rest of the product works with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, cast

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

# Allegro sends money and ratios as decimal strings ("12.34"); the rules (strings only, places
# that fit the warehouse) are the statistics parser's, so both shapes below agree with it.
from allegro_resource.stats_parse import (
    STATS_SCHEMA,
    Count,
    Money,
    MoneyRatio,
    Ratio,
    StatisticsDocument,
    statistics_table,
)


class AdType(StrEnum):
    SPONSORED_OFFER = "SPONSORED_OFFER"
    GRAPHIC_AD = "GRAPHIC_AD"


class _Model(BaseModel):
    # Allegro adds fields over time; unknown ones are ignored, wrong types are not.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


# --- OAuth -----------------------------------------------------------------


class TokenResponse(_Model):
    access_token: str = Field(min_length=1)
    token_type: str
    refresh_token: str = Field(min_length=1)
    expires_in: int = Field(gt=0)
    scope: str = ""
    jti: str | None = None


@dataclass(frozen=True, slots=True)
class TokenSet:
    """An access/refresh pair as obtained at ``obtained_at``."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str

    def __repr__(self) -> str:  # never let a token reach a log through repr()
        return f"TokenSet(expires_at={self.expires_at.isoformat()}, scope={self.scope!r})"


class Me(_Model):
    id: str
    login: str
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None


# --- Ads -------------------------------------------------------------------


class AdsClient(_Model):
    id: str
    name: str
    type: str
    status: Literal["ACTIVE", "PENDING", "INACTIVE"]


class AdsClientsPage(_Model):
    clients: list[AdsClient]
    count: int
    totalCount: int


class Campaign(_Model):
    id: str
    marketplaceId: str
    name: str
    status: str


class CampaignsPage(_Model):
    campaigns: list[Campaign]
    count: int
    totalCount: int


class NamedRef(_Model):
    id: str
    name: str


class AdRef(_Model):
    id: str
    name: str
    offerId: str | None = None


class DayMetrics(_Model):
    views: Count
    clicks: Count
    interest: Count
    totalCost: Money
    ctr: Ratio
    totalAttributionCount: Count
    totalAttributionValue: Money
    effectiveCpc: MoneyRatio
    rateOfReturn: MoneyRatio


class DayData(_Model):
    # Dates arrive as "yyyy-MM-dd" strings; strict mode would refuse the str->date step.
    day: Annotated[date, Field(strict=False)]
    data: DayMetrics


class AdStatistics(_Model):
    campaign: NamedRef
    adGroup: NamedRef
    ad: AdRef
    dayData: list[DayData]


class StatisticsResponse(_Model):
    """The statistics answer as objects, for inspecting one; the client parses answers with
    ``stats_parse.parse_statistics`` (same rules) straight into Arrow."""

    sponsoredOffers: list[AdStatistics] = Field(default_factory=list)
    graphicAds: list[AdStatistics] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatRow:
    """One ad on one day: the grain of the warehouse's ``ad_daily_stats``."""

    ads_client_id: str
    ad_type: AdType
    campaign_id: str
    campaign_name: str
    ad_group_id: str
    ad_group_name: str
    ad_id: str
    ad_name: str
    offer_id: str | None
    day: date
    views: int
    clicks: int
    interest: int
    cost: Decimal
    ctr: Decimal
    attributed_count: int
    attributed_value: Decimal
    effective_cpc: Decimal
    rate_of_return: Decimal


_AD_TYPES = {t.value: t for t in AdType}
_AD_TYPE_COLUMN = STATS_SCHEMA.names.index("ad_type")


def flatten_statistics(ads_client_id: str, response: StatisticsResponse) -> list[StatRow]:
    """Turn the nested answer (ad -> days) into one row per ad and day."""
    document = cast(StatisticsDocument, response.model_dump())
    return stat_rows_from_table(statistics_table(document, ads_client_id=ads_client_id))


def stat_rows_from_table(table: pa.Table) -> list[StatRow]:
    """A ``STATS_SCHEMA`` table as ``StatRow`` objects (Arrow decimals become ``Decimal``)."""
    columns = [table.column(name).to_pylist() for name in STATS_SCHEMA.names]
    columns[_AD_TYPE_COLUMN] = [_AD_TYPES[value] for value in columns[_AD_TYPE_COLUMN]]
    return list(map(StatRow, *columns))
