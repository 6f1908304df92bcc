"""Fetch customers' statistics from Allegro and load them into the warehouse.

Plain functions, no Dagster: the ``ad_daily_stats`` asset calls ``sync_statistics``. Customers are
fetched through the client's one fan-out (``AllegroAdsClient.stream_statistics``: bounded
concurrency, each in the widest windows the API allows) and written one at a time through the
warehouse's single writer. A customer's failure is recorded and never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from allegro_resource.ads_client import AllegroAdsClient, StatsJob
from allegro_resource.errors import (
    AllegroError,
    ApiError,
    Forbidden,
    MalformedResponse,
    NeedsReauthorization,
    UnexpectedFailure,
)
from warehouse.stats_frames import stats_table_to_facts
from warehouse.stats_loader import Warehouse


@dataclass(frozen=True)
class CustomerTarget:
    """A connected customer whose statistics a run should fetch."""

    customer_id: str
    name: str
    ads_client_id: str
    currency: str = "PLN"
    # The agency account whose token reads the statistics. Compile fix for the client's new
    # API (issue 12): until the services layer links customers to agency accounts, None falls
    # back to the customer's own token (which the real Allegro refuses with 403).
    agency_account_id: str | None = None


@dataclass
class CustomerOutcome:
    """What happened to one customer in one run."""

    customer_id: str
    name: str
    rows: int = 0
    days: int = 0
    api_calls: int = 0
    retries: int = 0
    error: str | None = None
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class SyncReport:
    """The outcome of one run over a date range."""

    start: date
    end: date
    run_id: str | None
    outcomes: list[CustomerOutcome] = field(default_factory=list)

    @property
    def loaded(self) -> list[CustomerOutcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[CustomerOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def rows(self) -> int:
        return sum(o.rows for o in self.outcomes)

    @property
    def api_calls(self) -> int:
        return sum(o.api_calls for o in self.outcomes)

    @property
    def retries(self) -> int:
        return sum(o.retries for o in self.outcomes)


def fix_for(error: Exception, customer_id: str) -> str:
    """The action that repairs a customer's failure, as a staff member would type it."""
    if isinstance(error, NeedsReauthorization):
        return f"allegro-ads links create {customer_id}  (send the customer a new link)"
    if isinstance(error, Forbidden):
        return (
            "check in Allegro Ads that the customer's account is still linked to the agency, "
            f"then re-run the range for this customer alone (run config customers: [{customer_id}])"
        )
    if isinstance(error, MalformedResponse):
        return f"Allegro sent a malformed answer; re-run later for this customer: {customer_id}"
    if isinstance(error, ApiError) and error.trace_id:
        return f"re-run this customer; if it persists, report Trace-Id {error.trace_id} to Allegro"
    return f"re-run this customer ({customer_id}) once Allegro answers again"


def sync_statistics(
    client: AllegroAdsClient,
    warehouse: Warehouse,
    customers: Sequence[CustomerTarget],
    start: date,
    end: date,
    *,
    run_id: str | None = None,
    on_progress: Callable[[CustomerOutcome], None] | None = None,
) -> SyncReport:
    """Fetch [start, end] for every customer and replace that slice in the warehouse.

    The customers come through the client's fan-out (``client.concurrency`` at once); each
    answer is loaded here, in the calling thread, which makes it the warehouse's one writer.
    ``on_progress`` is called in the calling thread as each customer is done.
    """
    report = SyncReport(start=start, end=end, run_id=run_id)
    by_id = {customer.customer_id: customer for customer in customers}
    jobs = [
        StatsJob(
            customer.customer_id,
            customer.agency_account_id or customer.customer_id,
            customer.ads_client_id,
        )
        for customer in customers
    ]
    for result in client.stream_statistics(jobs, start, end):
        customer = by_id[result.customer_id]
        outcome = CustomerOutcome(
            customer.customer_id, customer.name, api_calls=result.calls, retries=result.retries
        )
        try:
            if result.error is not None:
                raise _original(result.error)
            table = stats_table_to_facts(
                customer.customer_id,
                result.table,
                currency=customer.currency,
                run_id=run_id,
                fetched_at=datetime.now(UTC),
            )
            del result  # the answer is converted: free it before the write
            loaded = warehouse.load_slice(
                customer.customer_id, start, end, table, run_id=run_id, fetched_at=datetime.now(UTC)
            )
            outcome.rows = loaded.rows_inserted
            outcome.days = loaded.days
        except Exception as exc:  # one customer's failure must never stop the others
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.fix = fix_for(exc, customer.customer_id)
        report.outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)
    report.outcomes.sort(key=lambda o: o.name)
    return report


def _original(error: AllegroError) -> Exception:
    """The failure as it happened: a non-Allegro one is reported as itself, not its wrapper."""
    return error.cause if isinstance(error, UnexpectedFailure) else error
