"""Token refresh under load: worker processes sharing one control store through a simulated day.

``run_refresh_load()`` connects an agency account (device flow) and customers (one per agency
client, adopted from the agency's client list, each authorising its sales account through the
real consent flow) against a simulator, then starts worker processes (as Dagster's run workers
are) that each, in every round, read statistics with the agency token and seller data
(``/me``, ``/sale/offers``) with every customer's sales token, all through the production
``TokenManager``. Between rounds the simulator's clock and the workers' clocks move forward
together by one step; a quarter of the workers run with clocks up to 20 minutes behind
Allegro's, so at a refresh round they still send tokens Allegro no longer accepts (a 401
``invalid_token``) and must re-read the stored pair rather than refresh it again. Allegro's
side (the simulator's counters) then says how many refreshes, ``invalid_grant`` and 401s the
day cost; ``minimum_refreshes()`` says how many refreshes it had to cost.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import queue
import secrets
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from allegro_resource.ads_client import AllegroAdsClient, StatsJob
from allegro_resource.oauth import OAuthClient
from allegro_resource.token_manager import TokenManager
from allegro_resource.windows import reporting_today
from control_store import agency_accounts, agency_clients
from control_store.database import upgrade
from services.agency_connect import bind_agency_account, connection_client
from services.clients import oauth_client
from services.control import Control, open_control
from settings.config import Settings
from simulator.remote import SimulatorControl
from testing.bench_simulator import device_consent
from testing.simulated_consent import consent_as_seller

DAY_SECONDS = 86_400
BARRIER_SECONDS = 600.0  # a round of 50 customers takes seconds; a stuck worker must not hang us
MAX_ERRORS_KEPT = 20
CLOCK_GROUPS = 4  # workers w, w+4, w+8, … share a clock and a starting point in the list
AGENCY_NAME = "Load agency"


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How hard to push: worker processes, customers, simulated hours and the clock's step.

    ``stats_every``: a worker reads one client's statistics (agency token) and that customer's
    offers (sales token) at every ``stats_every``-th customer of its list, ``/me`` at every
    customer. ``lag_step_seconds``: clock group g runs g x this behind Allegro's clock.
    """

    workers: int = 16
    customers: int = 50
    hours: float = 24.0
    step_seconds: int = 3600
    stats_every: int = 25
    lag_step_seconds: int = 400

    def __post_init__(self) -> None:
        if min(self.workers, self.customers, self.hours, self.step_seconds, self.stats_every) <= 0:
            raise ValueError(
                "workers, customers, hours, step_seconds and stats_every must be positive"
            )
        if not 0 <= self.max_lag_seconds < self.step_seconds / 2:
            # A lag near the step would move refreshes from one round to another, and the
            # minimum below assumes every round sees the same time.
            raise ValueError("the clocks' lag must stay under half a step")

    @property
    def rounds(self) -> int:
        """Rounds at simulated times 0, step, 2·step, … up to the end of the period inclusive."""
        return int(self.hours * 3600 // self.step_seconds) + 1

    @property
    def accounts(self) -> int:
        """Connections whose tokens are refreshed: the agency account and every customer's."""
        return self.customers + 1

    @property
    def max_lag_seconds(self) -> int:
        return (CLOCK_GROUPS - 1) * self.lag_step_seconds

    def lag_seconds(self, worker: int) -> int:
        """How far worker ``worker``'s clock runs behind Allegro's."""
        return (worker % CLOCK_GROUPS) * self.lag_step_seconds

    @property
    def calls_per_round(self) -> int:
        """One worker's API calls in a round: ``/me`` per customer, statistics and offers at
        every ``stats_every``-th."""
        return self.customers + 2 * math.ceil(self.customers / self.stats_every)

    def ask_times(self) -> list[float]:
        """Seconds after the start at which every worker asks for every account's token."""
        return [float(k * self.step_seconds) for k in range(self.rounds)]


@dataclass(frozen=True, slots=True)
class ConnectedCustomer:
    """A customer of the control store linked to an agency client and bound by consent to the
    simulated seller behind it."""

    customer_id: str
    login: str
    ads_client_id: str


@dataclass(frozen=True, slots=True)
class ConnectedAccounts:
    """The agency account (connected by device flow) and the customers it reports on."""

    agency_account_id: str
    customers: tuple[ConnectedCustomer, ...]


@dataclass(slots=True)
class WorkerTally:
    """What one worker did: successful API calls by kind and the failures (first few kept)."""

    worker: int
    api_calls: int = 0
    statistics_calls: int = 0
    offers_calls: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    fatal: str | None = None

    def fail(self, message: str) -> None:
        self.failures += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)


@dataclass(frozen=True, slots=True)
class RefreshLoadResult:
    """The figures of one run; ``refreshes``, ``invalid_grant`` and 401s are Allegro's count."""

    store: str
    workers: int
    customers: int
    accounts: int
    simulated_hours: float
    step_seconds: int
    rounds: int
    max_lag_seconds: int
    access_ttl_seconds: int
    refresh_margin_seconds: float
    refreshes: int
    minimum_refreshes: int
    minimum_arithmetic: str
    refreshes_in_grace: int
    invalid_grant: int
    refreshes_failed: int
    unauthorized: int
    api_calls: int
    api_calls_expected: int
    statistics_calls: int
    offers_calls: int
    api_failures: int
    errors: list[str]
    connect_seconds: float
    rounds_seconds: float
    wall_seconds: float

    def to_json(self) -> dict[str, Any]:
        """The figures as a JSON-ready dict."""
        return dataclasses.asdict(self)


# --- the minimum ------------------------------------------------------------------------------


def usable_seconds(access_ttl_seconds: float, refresh_margin_seconds: float) -> float:
    """How long after issue ``TokenManager`` still hands a token out (its ``_fresh`` rule).

    Fresh means more than the margin left; a token living less than twice the margin is used
    for half its life instead.
    """
    margin = min(refresh_margin_seconds, access_ttl_seconds / 2)
    return access_ttl_seconds - margin


def renewals_needed(ask_times: Sequence[float], usable: float) -> int:
    """Refreshes one account needs when asked at ``ask_times`` with a token issued at 0.

    Refreshing only when the token in hand is no longer fresh is the fewest possible: a token
    obtained earlier than needed would also run out earlier.
    """
    issued, renewals = 0.0, 0
    for asked in ask_times:
        if asked - issued >= usable:
            issued, renewals = asked, renewals + 1
    return renewals


def minimum_refreshes(plan: LoadPlan, access_ttl_seconds: float, margin: float) -> tuple[int, str]:
    """The refreshes the whole run must cost (every account: the agency's and each customer's
    sales account), and the arithmetic behind the figure."""
    usable = usable_seconds(access_ttl_seconds, margin)
    each = renewals_needed(plan.ask_times(), usable)
    last = plan.ask_times()[-1]
    effective_margin = access_ttl_seconds - usable
    arithmetic = (
        f"a token is handed out for {access_ttl_seconds:.0f} s - {effective_margin:.0f} s margin "
        f"= {usable:.0f} s; asked every {plan.step_seconds} s from 0 to {last:.0f} s, each "
        f"account needs {each} refreshes (floor({last:.0f} / {usable:.0f}) = "
        f"{int(last // usable)} when asked often enough); {plan.accounts} accounts (1 agency + "
        f"{plan.customers} sales) x {each} = {plan.accounts * each}"
    )
    return plan.accounts * each, arithmetic


# --- the simulated clock, shared with the simulator -------------------------------------------


class SimulatedClock:
    """Wall time plus the simulator's clock offset (memory the coordinator writes), less this
    worker's lag behind Allegro."""

    def __init__(self, offset: Any, lag_seconds: float = 0.0) -> None:
        self._offset = offset  # a multiprocessing RawValue("d"); written only between rounds
        self._lag = lag_seconds

    def offset_seconds(self) -> float:
        return float(self._offset.value) - self._lag

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset_seconds(), UTC)

    def today(self) -> date:
        """The reporting day by this clock (the statistics' "yesterday" moves with it)."""
        return reporting_today(self.now())


# --- the simulator, over its /_sim/ endpoints ---------------------------------------------------


class SimulatorHandle(SimulatorControl):
    """The simulator controls a load needs beyond the common ones (it may run in any process)."""

    def offset_clock(self) -> tuple[float, float]:
        """(simulated now as a Unix time, offset from wall time)."""
        body = self.clock()
        return float(body["now"]), float(body["offset"])

    def advance_to(self, target: float) -> float:
        """Move the simulated clock to ``target`` (never back); the new offset."""
        now, offset = self.offset_clock()
        if target <= now:
            return offset
        return float(self._sim("POST", "clock", json={"advance_seconds": target - now})["offset"])

    def access_ttl_seconds(self) -> int:
        return int(self.config()["access_ttl_seconds"])

    def sellers_by_client(self, count: int) -> dict[str, str]:
        """Login of each of the first ``count`` sellers, by agency client id; ValueError if the
        simulator has fewer."""
        sellers = self.users()
        if len(sellers) < count:
            raise ValueError(
                f"the simulator has {len(sellers)} sellers; start it with users>={count}"
            )
        return {str(user["ads_client_id"]): str(user["login"]) for user in sellers[:count]}


# --- setting up ---------------------------------------------------------------------------------


def load_settings_for(control_url: str, simulator_url: str, folder: Path) -> Settings:
    """Settings of a throw-away installation over ``control_url`` with the simulator as Allegro."""
    return Settings(
        data_dir=folder,
        control_url=control_url,
        auth_url=simulator_url,
        api_url=simulator_url,
        token_keys=Fernet.generate_key().decode(),
        signing_key=secrets.token_urlsafe(32),
    )


def connect_agency(control: Control, oauth: OAuthClient, simulator_url: str) -> str:
    """A new agency account connected by the device flow (confirmed on the simulator), bound to
    the Allegro user ``/me`` names, as ``allegro-ads agency connect`` does; its id."""
    account = agency_accounts.create_agency_account(control.engine, AGENCY_NAME)
    with connection_client(control, oauth) as api:
        bind_agency_account(control, api, account.id, device_consent(oauth, simulator_url))
    return account.id


def connect_accounts(
    settings: Settings, simulator_url: str, logins_by_client: dict[str, str]
) -> ConnectedAccounts:
    """The agency account, its client list recorded, one customer adopted per listed client of
    ``logins_by_client`` (in the list's order), each authorising its sales account through the
    consent flow."""
    upgrade(settings.resolved_control_url)
    with (
        open_control(settings) as control,
        closing(oauth_client(settings)) as oauth,
        requests.Session() as browser,
    ):
        agency_id = connect_agency(control, oauth, simulator_url)
        manager = TokenManager(control.tokens, oauth)
        with AllegroAdsClient(settings.api_url, manager) as api:
            listed = api.list_agency_clients(agency_id)
        agency_clients.record_client_listing(
            control.engine, agency_id, [(c.id, c.name) for c in listed], datetime.now(UTC)
        )
        connected: list[ConnectedCustomer] = []
        for client in listed:
            login = logins_by_client.get(client.id)
            if login is None:
                continue
            index = len(connected)
            customer = agency_clients.adopt_client(
                control.engine, agency_id, client.id, name=f"Load {index:03d} {login}"
            )
            consent_as_seller(control, customer.id, login, oauth=oauth, browser=browser)
            connected.append(ConnectedCustomer(customer.id, login, client.id))
    if len(connected) != len(logins_by_client):
        raise ValueError(
            f"the agency lists {len(connected)} of the {len(logins_by_client)} sellers' clients"
        )
    return ConnectedAccounts(agency_id, tuple(connected))


def worker_order(connected: Sequence[ConnectedCustomer], worker: int) -> list[ConnectedCustomer]:
    """The customers in the order ``worker`` asks for them each round.

    Four groups of workers start at the four quarters of the list, so from the first ask of a
    round several processes want the same customer's token at the same moment (and, as each
    reads statistics first, all of them the agency's token).
    """
    start = (worker % CLOCK_GROUPS) * len(connected) // CLOCK_GROUPS
    return [*connected[start:], *connected[:start]]


# --- a worker process --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """Everything a worker process needs (picklable: it crosses a fork server)."""

    index: int
    settings: dict[str, Any]
    agency_account_id: str
    customers: tuple[ConnectedCustomer, ...]
    rounds: int
    stats_every: int
    lag_seconds: int
    statistics_day: date


def run_worker(job: WorkerJob, offset: Any, barrier: Any, ready: Any, results: Any) -> None:
    """One worker process: between the coordinator's barriers, ask for and use every token."""
    tally = WorkerTally(job.index)
    try:
        settings = Settings(**job.settings)  # every field given: the environment is not read
        clock = SimulatedClock(offset, job.lag_seconds)
        with (
            open_control(settings) as control,
            closing(oauth_client(settings, clock=clock.now)) as oauth,
        ):
            ready.put(job.index)
            manager = TokenManager(
                control.tokens,
                oauth,
                refresh_margin_seconds=settings.refresh_margin_seconds,
                clock=clock.now,
            )
            with AllegroAdsClient(
                settings.api_url, manager, timeout=settings.http_timeout_seconds, today=clock.today
            ) as api:
                for _ in range(job.rounds):
                    barrier.wait(timeout=BARRIER_SECONDS)  # the clocks are set: go
                    work_round(api, job, tally)
                    barrier.wait(timeout=BARRIER_SECONDS)  # done: the clocks may move
    except Exception as exc:
        tally.fatal = f"{type(exc).__name__}: {exc}"
        barrier.abort()  # the others must not wait for this worker forever
    finally:
        results.put(tally)


def work_round(api: AllegroAdsClient, job: WorkerJob, tally: WorkerTally) -> None:
    """Every customer's ``/me`` (the answer must be that customer's account); at every
    ``stats_every``-th, first its statistics with the agency token and its offers."""
    for position, customer in enumerate(job.customers):
        if position % job.stats_every == 0:
            read_statistics(api, job, customer, tally)
            read_offers(api, customer, tally)
        try:
            me = api.me(customer.customer_id)
        except Exception as exc:
            tally.fail(f"/me {customer.customer_id}: {type(exc).__name__}: {exc}")
            continue
        if me.login != customer.login:
            tally.fail(f"{customer.customer_id}: token of {me.login}, expected {customer.login}")
        else:
            tally.api_calls += 1


def read_statistics(
    api: AllegroAdsClient, job: WorkerJob, customer: ConnectedCustomer, tally: WorkerTally
) -> None:
    """One day of the customer's statistics, read with the agency account's token."""
    stats_job = StatsJob(customer.customer_id, job.agency_account_id, customer.ads_client_id)
    day = job.statistics_day
    try:
        api.fetch_statistics_table(stats_job, day, day)
    except Exception as exc:
        tally.fail(f"statistics {customer.customer_id}: {type(exc).__name__}: {exc}")
        return
    tally.api_calls += 1
    tally.statistics_calls += 1


def read_offers(api: AllegroAdsClient, customer: ConnectedCustomer, tally: WorkerTally) -> None:
    """The customer's offers, read with its sales token; a seller always has some."""
    try:
        offers = api.offers(customer.customer_id)
    except Exception as exc:
        tally.fail(f"offers {customer.customer_id}: {type(exc).__name__}: {exc}")
        return
    if not offers:
        tally.fail(f"offers {customer.customer_id}: none (the token of another account?)")
        return
    tally.api_calls += 1
    tally.offers_calls += 1


# --- the run ---------------------------------------------------------------------------------


def run_refresh_load(
    control_url: str, simulator_url: str, plan: LoadPlan, folder: Path
) -> RefreshLoadResult:
    """Connect the agency account and ``plan.customers`` customers, run the simulated period,
    count on Allegro's side.

    The simulator must be fresh (its clock never advanced: consents are stamped with wall
    time) and have at least ``plan.customers`` sellers, all clients of its first agency.
    """
    began = time.perf_counter()
    sim = SimulatorHandle(simulator_url)
    try:
        if sim.offset_clock()[1] != 0:
            raise ValueError("the simulator's clock was already advanced; start a fresh one")
        settings = load_settings_for(control_url, simulator_url, folder)
        connecting = time.perf_counter()
        accounts = connect_accounts(settings, simulator_url, sim.sellers_by_client(plan.customers))
        connect_seconds = time.perf_counter() - connecting
        before = sim.stats()
        tallies, rounds_seconds = _run_workers(sim, settings, accounts, plan)
        after = sim.stats()
        ttl = sim.access_ttl_seconds()
    finally:
        sim.close()
    minimum, arithmetic = minimum_refreshes(plan, ttl, settings.refresh_margin_seconds)
    return RefreshLoadResult(
        store=make_url(control_url).get_backend_name(),
        workers=plan.workers,
        customers=plan.customers,
        accounts=plan.accounts,
        simulated_hours=plan.hours,
        step_seconds=plan.step_seconds,
        rounds=plan.rounds,
        max_lag_seconds=plan.max_lag_seconds,
        access_ttl_seconds=ttl,
        refresh_margin_seconds=settings.refresh_margin_seconds,
        refreshes=_delta(before, after, "refreshes_ok"),
        minimum_refreshes=minimum,
        minimum_arithmetic=arithmetic,
        refreshes_in_grace=_delta(before, after, "refreshes_in_grace"),
        invalid_grant=_delta(before, after, "invalid_grant"),
        refreshes_failed=_delta(before, after, "refreshes_failed"),
        unauthorized=after["statuses"].get("401", 0) - before["statuses"].get("401", 0),
        api_calls=sum(t.api_calls for t in tallies),
        api_calls_expected=plan.workers * plan.rounds * plan.calls_per_round,
        statistics_calls=sum(t.statistics_calls for t in tallies),
        offers_calls=sum(t.offers_calls for t in tallies),
        api_failures=sum(t.failures for t in tallies) + sum(1 for t in tallies if t.fatal),
        errors=[e for t in tallies for e in ([t.fatal] if t.fatal else []) + t.errors][:20],
        connect_seconds=round(connect_seconds, 2),
        rounds_seconds=round(rounds_seconds, 2),
        wall_seconds=round(time.perf_counter() - began, 2),
    )


def _delta(before: dict[str, Any], after: dict[str, Any], key: str) -> int:
    return int(after[key]) - int(before[key])


def _run_workers(
    sim: SimulatorHandle,
    settings: Settings,
    accounts: ConnectedAccounts,
    plan: LoadPlan,
) -> tuple[list[WorkerTally], float]:
    """Start the workers, step both clocks round by round, collect every tally."""
    context = worker_context()
    offset = context.RawValue("d", sim.offset_clock()[1])
    barrier = context.Barrier(plan.workers + 1)
    ready, results = context.Queue(), context.Queue()
    dumped = settings.model_dump()
    # A day every clock serves all through the run: yesterday at the start.
    day = date.fromisoformat(str(sim.clock()["today"])) - timedelta(days=1)
    processes = [
        context.Process(
            target=run_worker,
            args=(
                WorkerJob(
                    index=index,
                    settings=dumped,
                    agency_account_id=accounts.agency_account_id,
                    customers=tuple(worker_order(accounts.customers, index)),
                    rounds=plan.rounds,
                    stats_every=plan.stats_every,
                    lag_seconds=plan.lag_seconds(index),
                    statistics_day=day,
                ),
                offset,
                barrier,
                ready,
                results,
            ),
            daemon=True,
        )
        for index in range(plan.workers)
    ]
    for process in processes:
        process.start()
    try:
        _await_ready(ready, processes, barrier)
        rounds_seconds = _step_rounds(sim, offset, barrier, plan)
    except threading.BrokenBarrierError:
        rounds_seconds = float("nan")  # a worker failed: its tally says why
    finally:
        tallies = _collect(results, plan.workers)
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    return tallies, rounds_seconds


def worker_context() -> multiprocessing.context.ForkServerContext:
    """Fresh processes forked from a clean server that imported this module once.

    Spawning 16 interpreters that each import SQLAlchemy, pyarrow and pydantic took 20-40 s of
    a shared 2-core machine; the fork server pays the imports once. Unlike a plain fork it
    copies no thread of the caller (the test's simulator serves from one).
    """
    context = multiprocessing.context.ForkServerContext()
    context.set_forkserver_preload([__name__])
    return context


def _await_ready(ready: Any, processes: Sequence[Any], barrier: Any) -> None:
    """Wait until every worker has started; break the barrier if one died on the way."""
    waiting = len(processes)
    deadline = time.monotonic() + BARRIER_SECONDS
    while waiting:
        try:
            ready.get(timeout=1.0)
            waiting -= 1
        except queue.Empty:
            if time.monotonic() > deadline or not all(p.is_alive() for p in processes):
                barrier.abort()
                raise threading.BrokenBarrierError from None


def _collect(results: Any, workers: int) -> list[WorkerTally]:
    """Every worker's tally; one that never reports counts as a fatal failure."""
    tallies: list[WorkerTally] = []
    for _ in range(workers):
        try:
            tallies.append(results.get(timeout=BARRIER_SECONDS))
        except queue.Empty:
            break
    reported = {tally.worker for tally in tallies}
    for missing in sorted(set(range(workers)) - reported):
        tallies.append(WorkerTally(missing, fatal="the worker process never reported"))
    return tallies


def _step_rounds(sim: SimulatorHandle, offset: Any, barrier: Any, plan: LoadPlan) -> float:
    """Release each round at exactly ``start + k·step`` of simulated time; its wall seconds.

    The simulator is moved to the round's time (however long earlier rounds took in wall time)
    and the workers' shared offset is set to the simulator's, so both clocks agree.
    """
    barrier.wait(timeout=BARRIER_SECONDS)  # every worker is up; round 0 starts now
    began = time.perf_counter()
    start = sim.offset_clock()[0]
    for k in range(plan.rounds):
        if k:
            offset.value = sim.advance_to(start + k * plan.step_seconds)
            barrier.wait(timeout=BARRIER_SECONDS)  # go
        barrier.wait(timeout=BARRIER_SECONDS)  # round k done
    return time.perf_counter() - began
