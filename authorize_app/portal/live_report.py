"""The live report: a short recent window pulled from Allegro through the same client and
token manager as the pipeline, each customer read through its agency client link with its
agency account's token. Every call lands in the API log; a customer that fails becomes
an error row and never hides the others."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal

from allegro_resource.ads_client import StatsJob, StatsResult
from allegro_resource.errors import AllegroError, ApiError, Forbidden, NeedsReauthorization
from allegro_resource.models import StatRow, stat_rows_from_table
from authorize_app.portal.report_filters import ReportFilters
from authorize_app.portal.report_model import (
    CampaignRow,
    DayPoint,
    ErrorRow,
    PeriodSums,
    Report,
    sort_rows,
)
from control_store.api_call_log import ControlStoreCallLog
from control_store.customers import Customer
from services.clients import client_config, token_manager
from services.control import Control

LIVE_MAX_ATTEMPTS = 3  # someone is waiting for the page: retry less than the pipeline does
LIVE_MAX_RETRY_SECONDS = 15.0
NOT_LINKED = "not linked to a client of an agency account"
NOT_LINKED_FIX = (
    "An admin adopts the customer's client (or links it to this customer) on the Agency "
    "accounts page; statistics are read with the agency account's connection."
)
AGENCY_REAUTH_FIX = (
    "The agency account must be reconnected: an admin presses Reconnect on the Connections board."
)


def live_report(control: Control, filters: ReportFilters, run_id: str) -> Report:
    """Pull ``filters``' customers from Allegro now; failures become error rows."""
    report = Report("live", filters.start, filters.end, filters.customers)
    jobs, report.errors = _jobs(filters.customers)
    results = _pull(control, jobs, filters.start, filters.end, run_id) if jobs else []
    by_id = {customer.id: customer for customer in filters.customers}
    rows: list[CampaignRow] = []
    stat_rows: list[StatRow] = []
    for result in results:
        customer = by_id[result.customer_id]
        if result.error is not None:
            report.errors.append(_error_row(customer, result.error))
            continue
        fetched = stat_rows_from_table(result.table)
        rows.extend(_campaign_rows(customer, fetched))
        stat_rows.extend(fetched)
    report.rows = sort_rows(rows, filters.sort)
    report.days = _days(stat_rows)
    report.errors.sort(key=lambda e: e.customer_name.casefold())
    report.pulled_at = datetime.now(UTC)
    return report


def _jobs(customers: Iterable[Customer]) -> tuple[list[StatsJob], list[ErrorRow]]:
    """A job per active customer with an agency client link: its rows, read with its agency
    account's token (the customer's own token cannot read statistics)."""
    jobs, errors = [], []
    for customer in customers:
        if not customer.active:
            errors.append(
                ErrorRow(customer.id, customer.name, "deactivated; not pulled", "Nothing to do.")
            )
        elif customer.agency_account_id is None or customer.ads_client_id is None:
            errors.append(ErrorRow(customer.id, customer.name, NOT_LINKED, NOT_LINKED_FIX))
        else:
            jobs.append(StatsJob(customer.id, customer.agency_account_id, customer.ads_client_id))
    return jobs, errors


def _pull(
    control: Control, jobs: Sequence[StatsJob], start: date, end: date, run_id: str
) -> list[StatsResult]:
    config = client_config(control.settings)
    with (
        ControlStoreCallLog(control.engine) as call_log,
        closing(config.oauth(call_log)) as oauth,
        config.capped(
            max_attempts=LIVE_MAX_ATTEMPTS, max_retry_seconds=LIVE_MAX_RETRY_SECONDS
        ).ads_client(token_manager(control, oauth), call_log, run_id=run_id) as client,
    ):
        return client.fetch_statistics_many(jobs, start, end)


def _error_row(customer: Customer, error: AllegroError) -> ErrorRow:
    if isinstance(error, NeedsReauthorization):
        fix = AGENCY_REAUTH_FIX
    elif isinstance(error, Forbidden) and error.fix:
        fix = error.fix
    elif isinstance(error, ApiError) and error.trace_id:
        fix = f"Try again later; if it persists, report Trace-Id {error.trace_id} to Allegro."
    else:
        fix = "Try again in a few minutes; the API log shows every attempt."
    return ErrorRow(customer.id, customer.name, str(error), fix)


def _campaign_rows(customer: Customer, stats: Iterable[StatRow]) -> list[CampaignRow]:
    """A row per campaign: its metrics summed over its ads and days, named as last seen."""
    names: dict[str, str] = {}
    sums: dict[str, PeriodSums] = {}
    for row in stats:
        names[row.campaign_id] = row.campaign_name
        sums[row.campaign_id] = sums.get(row.campaign_id, PeriodSums()) + PeriodSums.of_row(row)
    return [
        _row(customer, campaign_id, names[campaign_id], found)
        for campaign_id, found in sums.items()
    ]


def _row(customer: Customer, campaign_id: str, name: str, sums: PeriodSums) -> CampaignRow:
    return CampaignRow(
        customer_id=customer.id,
        customer_name=customer.name,
        campaign_id=campaign_id,
        campaign_name=name,
        currency=customer.currency,
        views=sums.views,
        clicks=sums.clicks,
        cost=sums.cost,
        attributed_count=sums.attributed_count,
        attributed_value=sums.attributed_value,
        ctr=sums.ctr,
        cpc=sums.cpc,
        roas=sums.roas,
    )


def _days(stats: Iterable[StatRow]) -> list[DayPoint]:
    sums: dict[date, tuple[Decimal, int, Decimal]] = {}
    for row in stats:
        cost, clicks, value = sums.get(row.day, (Decimal(0), 0, Decimal(0)))
        sums[row.day] = (cost + row.cost, clicks + row.clicks, value + row.attributed_value)
    return [DayPoint(day, *values) for day, values in sorted(sums.items())]
