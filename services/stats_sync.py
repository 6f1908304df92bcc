"""Fetch customers' statistics from Allegro and load them into the warehouse.

Plain functions, no Dagster: the ``ad_daily_stats`` asset calls ``statistics_targets`` and
``sync_statistics``. Statistics are read with the token of the customer's agency account, one
agency client at a time (docs/accounts.md). Customers are fetched through the client's one
fan-out (``AllegroAdsClient.stream_statistics``: bounded concurrency, each in the widest windows
the API allows) and written through the warehouse's single writer, small slices several on one
write connection (each customer still in its own transaction). A customer's
failure is recorded and never stops the others; a customer whose agency connection is broken,
or whose client left the agency's list, fails with the reason and the fix without a call.
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
    MissingScope,
    NeedsReauthorization,
    UnexpectedFailure,
    is_agency_account,
)
from allegro_resource.token_status import TokenStatus
from control_store import agency_accounts, agency_clients, customers
from control_store.account_kind import AccountKind
from control_store.agency_accounts import AgencyAccount
from control_store.token_store import TokenInfo, token_status
from services.control import Control
from warehouse.stats_frames import stats_table_to_facts
from warehouse.stats_loader import Slice, Warehouse

ACCESS_REMOVED = (
    "access removed in Allegro Ads: ask the seller to accept the agency's request again"
)
"""Why a customer whose agency client left the agency's list is not loaded (and its fix)."""
USABLE = frozenset({TokenStatus.CONNECTED, TokenStatus.EXPIRING})


class StatisticsUnavailable(Exception):
    """A customer's statistics cannot be read now; the message says why and what to do."""


class AgencyConnectionUnusable(StatisticsUnavailable):
    """The customer's agency account is not connected, or its connection needs authorising
    again: every customer behind it fails with this, until an admin reconnects it."""

    def __init__(self, agency_name: str, reason: str) -> None:
        self.agency_name = agency_name
        self.reason = reason
        self.fix = agency_connect_fix(agency_name)
        super().__init__(
            f"agency account {agency_name} needs re-authorisation ({reason}); fix: {self.fix}"
        )


class ClientAccessRemoved(StatisticsUnavailable):
    """The customer's agency client left the agency's client list (or Allegro refuses its
    statistics to the agency): the seller must accept the agency's request again."""

    def __init__(self, customer_id: str, detail: str | None = None) -> None:
        self.customer_id = customer_id
        super().__init__(f"{ACCESS_REMOVED}{f' ({detail})' if detail else ''}")


class NoStatisticsLink(StatisticsUnavailable):
    """The customer is not linked to an agency client."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(
            f"customer {customer_id} is not linked to an agency client; link it to one of the "
            "agency's clients (portal, or allegro-ads agency clients)"
        )


def agency_connect_fix(agency_name: str) -> str:
    """The command that reconnects an agency account."""
    return f"allegro-ads agency connect {agency_name}"


@dataclass(frozen=True)
class CustomerTarget:
    """A customer linked to an agency client, whose statistics a run should fetch."""

    customer_id: str
    name: str
    ads_client_id: str  # the agency client id: the {clientId} of the statistics path
    currency: str = "PLN"
    # The agency account whose token reads the statistics (None: no agency link, which fails
    # the customer without a call: a seller's own token is refused by Allegro).
    agency_account_id: str | None = None
    agency_name: str | None = None  # for the fix: allegro-ads agency connect <name>


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


@dataclass(frozen=True)
class StatisticsTargets:
    """Who a run fetches (``targets``) and who fails without a call (``blocked``, each with
    its error and fix)."""

    targets: list[CustomerTarget]
    blocked: list[CustomerOutcome]

    @property
    def customer_ids(self) -> list[str]:
        """Every linked customer of the run, fetched or blocked."""
        return [t.customer_id for t in self.targets] + [o.customer_id for o in self.blocked]


def statistics_targets(
    control: Control, customer_ids: Sequence[str] | None = None
) -> StatisticsTargets:
    """Every active customer with an agency link (or those of ``customer_ids``: ids or names;
    an unknown one raises ``control_store.database.NotFound``).

    A customer whose agency account is deactivated, not connected or whose connection needs
    re-authorisation is blocked with "agency account <name> needs re-authorisation (<reason>);
    fix: allegro-ads agency connect <name>"; one whose client left the agency's list with
    ``ACCESS_REMOVED``. A named customer without an agency link is blocked too (unnamed ones
    are simply not reportable yet).
    """
    engine = control.engine
    wanted = (
        None
        if not customer_ids
        else {customers.find_customer(engine, name).id for name in customer_ids}
    )
    accounts = {a.id: a for a in agency_accounts.list_agency_accounts(engine)}
    connections = {info.account_id: info for info in control.tokens.list_info(AccountKind.AGENCY)}
    now = datetime.now(UTC)
    expiring_days = control.settings.expiring_days
    targets: list[CustomerTarget] = []
    blocked: list[CustomerOutcome] = []
    for customer in customers.list_customers(engine):
        if not customer.active or (wanted is not None and customer.id not in wanted):
            continue
        if customer.agency_account_id is None or customer.ads_client_id is None:
            if wanted is not None:
                blocked.append(_blocked(customer.id, customer.name, NoStatisticsLink(customer.id)))
            continue
        account = accounts[customer.agency_account_id]
        problem: StatisticsUnavailable | None = _agency_problem(
            account, connections.get(account.id), now, expiring_days
        )
        if problem is None and _client_removed(control, account.id, customer.ads_client_id):
            problem = ClientAccessRemoved(customer.id)
        if problem is not None:
            blocked.append(_blocked(customer.id, customer.name, problem))
            continue
        targets.append(
            CustomerTarget(
                customer.id,
                customer.name,
                customer.ads_client_id,
                customer.currency,
                agency_account_id=account.id,
                agency_name=account.name,
            )
        )
    return StatisticsTargets(targets, blocked)


def _agency_problem(
    account: AgencyAccount, connection: TokenInfo | None, now: datetime, expiring_days: float
) -> AgencyConnectionUnusable | None:
    """Why the agency account's token cannot be used now, or None if it can."""
    if not account.active:
        return AgencyConnectionUnusable(
            account.name, "the agency account is deactivated; link its customers elsewhere"
        )
    if connection is None:
        return AgencyConnectionUnusable(account.name, "never connected")
    status = token_status(connection, now, expiring_days)
    if status in USABLE:
        return None
    reason = connection.last_error or "no reason recorded"
    return AgencyConnectionUnusable(account.name, f"{status.value}: {reason}")


def _client_removed(control: Control, agency_account_id: str, client_id: str) -> bool:
    """True if the agency's last listing no longer had the client (never listed: not known
    to be removed; Allegro's answer will tell)."""
    for client in agency_clients.clients_of(control.engine, agency_account_id):
        if client.client_id == client_id:
            return client.removed
    return False


def _blocked(customer_id: str, name: str, error: StatisticsUnavailable) -> CustomerOutcome:
    return CustomerOutcome(
        customer_id, name, error=f"{type(error).__name__}: {error}", fix=_fix(error, customer_id)
    )


def _fix(error: StatisticsUnavailable, customer_id: str) -> str:
    if isinstance(error, AgencyConnectionUnusable):
        return error.fix
    if isinstance(error, ClientAccessRemoved):
        return (
            "ask the seller to accept the agency's request again in Allegro Ads, then re-run "
            f"this customer alone (run config customers: [{customer_id}])"
        )
    return f"link customer {customer_id} to an agency client, then re-run it"


def fix_for(error: Exception, customer_id: str) -> str:
    """The action that repairs a customer's failure, as a staff member would type it."""
    if isinstance(error, StatisticsUnavailable):
        return _fix(error, customer_id)
    if isinstance(error, NeedsReauthorization):
        return f"allegro-ads links create {customer_id}  (send the customer a new link)"
    if isinstance(error, MissingScope):
        return error.fix or "connect the agency account again: allegro-ads agency connect"
    if isinstance(error, MalformedResponse):
        return f"Allegro sent a malformed answer; re-run later for this customer: {customer_id}"
    if isinstance(error, ApiError) and error.trace_id:
        return f"re-run this customer; if it persists, report Trace-Id {error.trace_id} to Allegro"
    return f"re-run this customer ({customer_id}) once Allegro answers again"


def _explained(error: Exception, customer: CustomerTarget) -> Exception:
    """A fetch failure as the customer's reason: a dead agency connection or a refused client
    reads the same whether found before the run or during it."""
    if isinstance(error, NeedsReauthorization) and is_agency_account(error.customer_id):
        return AgencyConnectionUnusable(
            customer.agency_name or error.customer_id, f"needs_reauth: {error.reason}"
        )
    if isinstance(error, Forbidden) and not isinstance(error, MissingScope):
        trace = f" [Trace-Id {error.trace_id}]" if error.trace_id else ""
        return ClientAccessRemoved(customer.customer_id, f"Allegro answered 403{trace}")
    return error


def sync_statistics(
    client: AllegroAdsClient,
    warehouse: Warehouse,
    customers: Sequence[CustomerTarget],
    start: date,
    end: date,
    *,
    run_id: str | None = None,
    on_progress: Callable[[CustomerOutcome], None] | None = None,
    blocked: Sequence[CustomerOutcome] = (),
) -> SyncReport:
    """Fetch [start, end] for every customer and replace that slice in the warehouse.

    The customers come through the client's fan-out (``client.concurrency`` at once), each
    with its agency account's token; each answer is loaded here, in the calling thread, which
    makes it the warehouse's one writer (small slices up to ``LOAD_BATCH_CUSTOMERS`` customers
    or ``LOAD_BATCH_ROWS`` rows together, each in its own transaction). ``blocked`` customers
    (``statistics_targets``) are reported as failed without a call. ``on_progress`` is called
    in the calling thread as each customer is done (a batched one once its batch is written).
    """
    report = SyncReport(start=start, end=end, run_id=run_id)
    for outcome in blocked:
        report.outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)
    fetchable = []
    for customer in customers:
        if customer.agency_account_id is None:
            outcome = _blocked(
                customer.customer_id, customer.name, NoStatisticsLink(customer.customer_id)
            )
            report.outcomes.append(outcome)
            if on_progress:
                on_progress(outcome)
        else:
            fetchable.append(customer)
    by_id = {customer.customer_id: customer for customer in fetchable}
    jobs = [
        StatsJob(customer.customer_id, str(customer.agency_account_id), customer.ads_client_id)
        for customer in fetchable
    ]

    def finish(outcome: CustomerOutcome) -> None:
        report.outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)

    pending = _PendingLoads(warehouse, finish)
    for result in client.stream_statistics(jobs, start, end):
        customer = by_id[result.customer_id]
        outcome = CustomerOutcome(
            customer.customer_id, customer.name, api_calls=result.calls, retries=result.retries
        )
        try:
            if result.error is not None:
                raise _explained(_original(result.error), customer)
            table = stats_table_to_facts(
                customer.customer_id,
                result.table,
                currency=customer.currency,
                run_id=run_id,
                fetched_at=datetime.now(UTC),
            )
            del result  # the answer is converted: free it before the write
        except Exception as exc:  # one customer's failure must never stop the others
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.fix = fix_for(exc, customer.customer_id)
            finish(outcome)
            continue
        pending.add(
            outcome, Slice(customer.customer_id, start, end, table, run_id, datetime.now(UTC))
        )
    pending.load()
    report.outcomes.sort(key=lambda o: o.name)
    return report


# Slices are written several at a time on one write connection (``Warehouse.load_slices``;
# each still its own transaction): a daily run's small ones, and a backfill's large ones (on
# DuckDB each connection ends with a checkpoint, which cost more than the rows when every
# customer had its own). The write lock is held for at most this many customers or rows
# (~1 s of writing), so the portal's readers never wait long.
LOAD_BATCH_CUSTOMERS = 16
LOAD_BATCH_ROWS = 400_000


class _PendingLoads:
    """Converted slices waiting to be written together; ``finish`` gets each outcome once its
    slice is written (or failed)."""

    def __init__(self, warehouse: Warehouse, finish: Callable[[CustomerOutcome], None]) -> None:
        self.warehouse = warehouse
        self.finish = finish
        self.waiting: list[tuple[CustomerOutcome, Slice]] = []
        self.rows = 0

    def add(self, outcome: CustomerOutcome, slice_: Slice) -> None:
        self.waiting.append((outcome, slice_))
        self.rows += slice_.table.num_rows
        if len(self.waiting) >= LOAD_BATCH_CUSTOMERS or self.rows >= LOAD_BATCH_ROWS:
            self.load()

    def load(self) -> None:
        """Write every waiting slice; each customer's outcome says how its own load went."""
        waiting, self.waiting, self.rows = self.waiting, [], 0
        if not waiting:
            return
        try:
            results = self.warehouse.load_slices([slice_ for _, slice_ in waiting])
        except Exception as exc:  # not one slice's failure: every waiting customer reports it
            results = [exc] * len(waiting)
        for (outcome, _), loaded in zip(waiting, results, strict=True):
            if isinstance(loaded, Exception):
                outcome.error = f"{type(loaded).__name__}: {loaded}"
                outcome.fix = fix_for(loaded, outcome.customer_id)
            else:
                outcome.rows = loaded.rows_inserted
                outcome.days = loaded.days
            self.finish(outcome)


def _original(error: AllegroError) -> Exception:
    """The failure as it happened: a non-Allegro one is reported as itself, not its wrapper."""
    return error.cause if isinstance(error, UnexpectedFailure) else error
