"""What a scheduled report e-mail says about one customer: the period's KPIs (spend, clicks,
sales value, ROAS) against the period of equal length before it, the top campaigns by spend,
and every campaign of the period as the portal's CSV export. Plain functions over the
warehouse; rendering and sending are ``report_mail``'s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.report_periods import ReportPeriod
from warehouse.ratios import ratio
from warehouse.report_export import campaign_export_table, csv_bytes
from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import campaign_report_table, missing_days

TOP_CAMPAIGNS = 5


@dataclass(frozen=True, slots=True)
class Kpis:
    """One currency's sums over a period."""

    currency: str
    spend: Decimal
    clicks: int
    sales_value: Decimal

    @property
    def roas(self) -> Decimal | None:
        """Sales value per unit of spend (a ratio of sums), None without spend."""
        return ratio(self.sales_value, self.spend, 2)


@dataclass(frozen=True, slots=True)
class KpiComparison:
    """A currency's KPIs in the period and in the period before (zeros if it had none)."""

    current: Kpis
    previous: Kpis


@dataclass(frozen=True, slots=True)
class CampaignLine:
    """A campaign of the period, for the top list."""

    campaign_id: str
    name: str
    currency: str
    spend: Decimal
    clicks: int
    sales_value: Decimal
    roas: Decimal | None


@dataclass(frozen=True, slots=True)
class CustomerReport:
    """Everything one customer's report e-mail holds."""

    customer_id: str
    customer_name: str
    period: ReportPeriod
    previous_start: date
    previous_end: date
    kpis: list[KpiComparison]
    top_campaigns: list[CampaignLine]
    campaigns: int
    days_not_loaded: list[date]
    csv: bytes

    @property
    def csv_filename(self) -> str:
        return f"campaigns_{self.customer_id}_{self.period.start}_{self.period.end}.csv"


def customer_report(
    wh: Warehouse,
    customer_id: str,
    customer_name: str,
    period: ReportPeriod,
    *,
    top: int = TOP_CAMPAIGNS,
) -> CustomerReport:
    """The report of ``customer_id`` over ``period``, read from the warehouse."""
    current = campaign_report_table(wh, [customer_id], period.start, period.end).to_pylist()
    previous_start, previous_end = period.previous
    previous = campaign_report_table(wh, [customer_id], previous_start, previous_end).to_pylist()
    lines = [_campaign_line(record) for record in current]
    return CustomerReport(
        customer_id=customer_id,
        customer_name=customer_name,
        period=period,
        previous_start=previous_start,
        previous_end=previous_end,
        kpis=compare(kpis_by_currency(current), kpis_by_currency(previous)),
        top_campaigns=sorted(lines, key=lambda line: (-line.spend, line.name))[:top],
        campaigns=len(lines),
        days_not_loaded=missing_days(wh, customer_id, period.start, period.end),
        csv=csv_bytes(campaign_export_table(_export_records(current, customer_name))),
    )


def kpis_by_currency(records: Iterable[Mapping[str, Any]]) -> dict[str, Kpis]:
    """Campaign rows summed per currency (money in different currencies is never added up)."""
    sums: dict[str, Kpis] = {}
    for record in records:
        currency = str(record["currency"])
        found = sums.get(currency, Kpis(currency, Decimal(0), 0, Decimal(0)))
        sums[currency] = Kpis(
            currency,
            found.spend + Decimal(record["cost"]),
            found.clicks + int(record["clicks"]),
            found.sales_value + Decimal(record["attributed_value"]),
        )
    return sums


def compare(current: Mapping[str, Kpis], previous: Mapping[str, Kpis]) -> list[KpiComparison]:
    """One comparison per currency of either period, in currency order."""
    currencies = sorted(set(current) | set(previous))
    return [
        KpiComparison(
            current.get(c, Kpis(c, Decimal(0), 0, Decimal(0))),
            previous.get(c, Kpis(c, Decimal(0), 0, Decimal(0))),
        )
        for c in currencies
    ]


def _campaign_line(record: Mapping[str, Any]) -> CampaignLine:
    campaign_id = str(record["campaign_id"])
    return CampaignLine(
        campaign_id=campaign_id,
        name=str(record["campaign_name"] or campaign_id),
        currency=str(record["currency"]),
        spend=Decimal(record["cost"]),
        clicks=int(record["clicks"]),
        sales_value=Decimal(record["attributed_value"]),
        roas=None if record["roas"] is None else Decimal(record["roas"]),
    )


def _export_records(records: Sequence[Mapping[str, Any]], customer_name: str) -> list[Any]:
    """The warehouse's campaign rows as the export's records (the portal's stored report)."""
    return [
        {
            **record,
            "customer_name": customer_name,
            "campaign_name": record["campaign_name"] or record["campaign_id"],
        }
        for record in records
    ]
