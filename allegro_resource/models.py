"""Shapes of Allegro's answers (pydantic, strict where a wrong shape would corrupt data)
and the flat rows the rest of the product works with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Allegro sends money and ratios as decimal strings ("12.34"). Accepting only
# strings keeps a float from ever sneaking in and losing a grosz.
DecimalString = Annotated[str, StringConstraints(pattern=r"^-?\d+(\.\d+)?$")]


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
    views: int = Field(ge=0)
    clicks: int = Field(ge=0)
    interest: int = Field(ge=0)
    totalCost: DecimalString
    ctr: DecimalString
    totalAttributionCount: int = Field(ge=0)
    totalAttributionValue: DecimalString
    effectiveCpc: DecimalString
    rateOfReturn: DecimalString


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


def flatten_statistics(ads_client_id: str, response: StatisticsResponse) -> list[StatRow]:
    """Turn the nested answer (ad -> days) into one row per ad and day."""
    rows: list[StatRow] = []
    for ad_type, ads in (
        (AdType.SPONSORED_OFFER, response.sponsoredOffers),
        (AdType.GRAPHIC_AD, response.graphicAds),
    ):
        for ad in ads:
            for day in ad.dayData:
                m = day.data
                rows.append(
                    StatRow(
                        ads_client_id=ads_client_id,
                        ad_type=ad_type,
                        campaign_id=ad.campaign.id,
                        campaign_name=ad.campaign.name,
                        ad_group_id=ad.adGroup.id,
                        ad_group_name=ad.adGroup.name,
                        ad_id=ad.ad.id,
                        ad_name=ad.ad.name,
                        offer_id=ad.ad.offerId,
                        day=day.day,
                        views=m.views,
                        clicks=m.clicks,
                        interest=m.interest,
                        cost=Decimal(m.totalCost),
                        ctr=Decimal(m.ctr),
                        attributed_count=m.totalAttributionCount,
                        attributed_value=Decimal(m.totalAttributionValue),
                        effective_cpc=Decimal(m.effectiveCpc),
                        rate_of_return=Decimal(m.rateOfReturn),
                    )
                )
    return rows
