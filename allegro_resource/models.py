"""Shapes of Allegro's answers (pydantic, strict where a wrong shape would corrupt data)
and the flat rows the rest of the product works with.

The statistics answer is not here: its one definition is the parser's (``stats_parse``), which
reads it straight into a ``STATS_SCHEMA`` table; ``stat_rows_from_table`` gives its rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from allegro_resource.stats_parse import STATS_SCHEMA


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


# --- Agency account: its clients ---------------------------------------------


class AgencyClient(_Model):
    """One client in an agency account's list: ``id`` is the ``{clientId}`` of its statistics."""

    id: str = Field(min_length=1)
    name: str


class AgencyClientsPage(_Model):
    # Allegro documents neither paging nor counts here; they are followed only when present.
    clients: list[AgencyClient]
    count: int | None = Field(None, ge=0)
    totalCount: int | None = Field(None, ge=0)


# --- Sales account: its offers -----------------------------------------------------

OfferStatus = Literal["ACTIVE", "INACTIVE", "ENDED", "ACTIVATING"]
# A price as Allegro writes it: a decimal string, never a float.
_Amount = Annotated[str, StringConstraints(pattern=r"^-?\d{1,16}(?:\.\d{1,2})?$")]


class _PriceDoc(_Model):
    amount: _Amount
    currency: str = Field(min_length=3, max_length=3)


class _SellingModeDoc(_Model):
    price: _PriceDoc


class _StockDoc(_Model):
    available: int = Field(ge=0)
    sold: int = Field(ge=0)


class _PublicationDoc(_Model):
    status: OfferStatus


class OfferDoc(_Model):
    """One element of ``GET /sale/offers``' ``offers`` (the fields the product reads)."""

    id: str = Field(min_length=1)
    name: str
    sellingMode: _SellingModeDoc
    stock: _StockDoc
    publication: _PublicationDoc


class OffersPage(_Model):
    offers: list[OfferDoc]
    count: int = Field(ge=0)
    totalCount: int = Field(ge=0)


@dataclass(frozen=True, slots=True)
class Offer:
    """A seller's offer as the product keeps it (the warehouse's ``offers`` dimension)."""

    id: str
    name: str
    price: Decimal
    currency: str
    stock_available: int
    stock_sold: int
    status: OfferStatus

    @classmethod
    def from_doc(cls, doc: OfferDoc) -> Offer:
        price = doc.sellingMode.price
        return cls(
            id=doc.id,
            name=doc.name,
            price=Decimal(price.amount),
            currency=price.currency,
            stock_available=doc.stock.available,
            stock_sold=doc.stock.sold,
            status=doc.publication.status,
        )


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
    effective_cpc: Decimal | None  # sponsored offers only
    rate_of_return: Decimal
    # Graphic ads only (None on sponsored offers). ``unique_reach``: distinct users that day,
    # never additive across days.
    unique_reach: int | None = None
    effective_cpm: Decimal | None = None
    attributed_to_core_value: Decimal | None = None


_AD_TYPES = {t.value: t for t in AdType}
_AD_TYPE_COLUMN = STATS_SCHEMA.names.index("ad_type")


def stat_rows_from_table(table: pa.Table) -> list[StatRow]:
    """A ``STATS_SCHEMA`` table as ``StatRow`` objects (Arrow decimals become ``Decimal``)."""
    columns = [table.column(name).to_pylist() for name in STATS_SCHEMA.names]
    columns[_AD_TYPE_COLUMN] = [_AD_TYPES[value] for value in columns[_AD_TYPE_COLUMN]]
    return list(map(StatRow, *columns))
