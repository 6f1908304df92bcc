"""Fetch customers' statistics from Allegro and load them into the warehouse.

Plain functions, no Dagster: the ``ad_daily_stats`` asset, the demo and the CLI all call
``sync_statistics``. Customers are fetched concurrently (bounded), each in the widest windows the
API allows, and written one at a time through the warehouse's single writer. A customer's failure
is recorded and never stops the others.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.calllog import ApiCall
from allegro_resource.errors import (
    ApiError,
    Forbidden,
    MalformedResponse,
    NeedsReauthorization,
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


class CallCounter:
    """A call-log sink that counts calls and retries per customer, for run metadata."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()

    def record(self, call: ApiCall) -> None:
        key = call.customer_id or ""
        with self._lock:
            self.calls[key] += 1
            if call.attempt > 1:
                self.retries[key] += 1


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
    counter: CallCounter,
    run_id: str | None = None,
    concurrency: int = 4,
    on_progress: Callable[[CustomerOutcome], None] | None = None,
) -> SyncReport:
    """Fetch [start, end] for every customer and replace that slice in the warehouse."""
    report = SyncReport(start=start, end=end, run_id=run_id)
    write_lock = threading.Lock()  # one writer: DuckDB allows a single writing connection

    def one(customer: CustomerTarget) -> CustomerOutcome:
        outcome = CustomerOutcome(customer.customer_id, customer.name)
        try:
            fetched = client.fetch_statistics_table(
                customer.customer_id, customer.ads_client_id, start, end
            )
            table = stats_table_to_facts(
                customer.customer_id,
                fetched,
                currency=customer.currency,
                run_id=run_id,
                fetched_at=datetime.now(UTC),
            )
            del fetched
            with write_lock:
                result = warehouse.load_slice(
                    customer.customer_id,
                    start,
                    end,
                    table,
                    run_id=run_id,
                    fetched_at=datetime.now(UTC),
                )
            outcome.rows = result.rows_inserted
            outcome.days = result.days
        except Exception as exc:  # one customer's failure must never stop the others
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.fix = fix_for(exc, customer.customer_id)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(one, customer) for customer in customers]
        for future in as_completed(futures):
            outcome = future.result()
            outcome.api_calls = counter.calls[outcome.customer_id]
            outcome.retries = counter.retries[outcome.customer_id]
            report.outcomes.append(outcome)
            if on_progress:
                on_progress(outcome)
    report.outcomes.sort(key=lambda o: o.name)
    return report
