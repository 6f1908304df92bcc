"""How numbers look on report pages (exports keep the raw values)."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from authorize_app.portal.report_model import CampaignRow

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


class CampaignCells(NamedTuple):
    """A campaign row as the table shows it: ids for the data attributes, formatted figures."""

    customer_id: str
    campaign_id: str
    customer_name: str
    campaign_name: str
    views: str
    clicks: str
    ctr: str
    cost: str
    cpc: str
    attributed_count: str
    attributed_value: str
    roas: str


def campaign_cells(row: CampaignRow) -> CampaignCells:
    """``row`` formatted once in Python (a page of them rendered through template helpers
    was a noticeable share of a report request)."""
    return CampaignCells(
        row.customer_id,
        row.campaign_id,
        row.customer_name,
        row.campaign_name,
        count(row.views),
        count(row.clicks),
        percent(row.ctr),
        f"{money(row.cost)} {row.currency}",
        money(row.cpc),
        count(row.attributed_count),
        money(row.attributed_value),
        ratio(row.roas),
    )
