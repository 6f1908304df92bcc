"""Token refresh under load: worker processes sharing one control store through a simulated day.

``run_refresh_load()`` connects customers through the real consent flow against a simulator, then
starts worker processes (as Dagster's run workers are) that each, in every round, ask the
production ``TokenManager`` for every customer's access token and use it on ``GET /me``. Between
rounds the simulator's clock and the workers' clock move forward together by one step. Allegro's
side (the simulator's counters) then says how many refreshes and ``invalid_grant`` the day cost;
``minimum_refreshes()`` says how many it had to cost.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import secrets
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.token_manager import TokenManager
from control_store import customers
from control_store.database import upgrade
from services.clients import oauth_client
from services.control import open_control
from settings.config import Settings
from simulator.remote import SimulatorControl
from testing.simulated_consent import consent_as_seller

DAY_SECONDS = 86_400
BARRIER_SECONDS = 600.0  # a round of 50 customers takes seconds; a stuck worker must not hang us
MAX_ERRORS_KEPT = 20


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How hard to push: worker processes, customers, simulated hours and the clock's step."""

    workers: int = 16
    customers: int = 50
    hours: float = 24.0
    step_seconds: int = 3600

    def __post_init__(self) -> None:
        if self.workers < 1 or self.customers < 1 or self.hours <= 0 or self.step_seconds <= 0:
            raise ValueError("workers, customers, hours and step_seconds must be positive")

    @property
    def rounds(self) -> int:
        """Rounds at simulated times 0, step, 2·step, … up to the end of the period inclusive."""
        return int(self.hours * 3600 // self.step_seconds) + 1

    def ask_times(self) -> list[float]:
        """Seconds after the start at which every worker asks for every customer's token."""
        return [float(k * self.step_seconds) for k in range(self.rounds)]


@dataclass(frozen=True, slots=True)
class ConnectedCustomer:
    """A customer of the control store bound by consent to one simulated seller."""

    customer_id: str
    login: str


@dataclass(slots=True)
class WorkerTally:
    """What one worker did: successful API calls and the failures (first few kept)."""

    worker: int
    api_calls: int = 0
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
    simulated_hours: float
    step_seconds: int
    rounds: int
    access_ttl_seconds: int
    refresh_margin_seconds: float
    refreshes: int
    minimum_refreshes: int
    minimum_arithmetic: str
    invalid_grant: int
    refreshes_failed: int
    unauthorized: int
    api_calls: int
    api_calls_expected: int
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
    """Refreshes one customer needs when asked at ``ask_times`` with a token issued at 0.

    Refreshing only when the token in hand is no longer fresh is the fewest possible: a token
    obtained earlier than needed would also run out earlier.
    """
    issued, renewals = 0.0, 0
    for asked in ask_times:
        if asked - issued >= usable:
            issued, renewals = asked, renewals + 1
    return renewals


def minimum_refreshes(plan: LoadPlan, access_ttl_seconds: float, margin: float) -> tuple[int, str]:
    """The refreshes the whole run must cost, and the arithmetic behind the figure."""
    usable = usable_seconds(access_ttl_seconds, margin)
    each = renewals_needed(plan.ask_times(), usable)
    last = plan.ask_times()[-1]
    effective_margin = access_ttl_seconds - usable
    arithmetic = (
        f"a token is handed out for {access_ttl_seconds:.0f} s - {effective_margin:.0f} s margin "
        f"= {usable:.0f} s; asked every {plan.step_seconds} s from 0 to {last:.0f} s, each "
        f"customer needs {each} refreshes (floor({last:.0f} / {usable:.0f}) = "
        f"{int(last // usable)} when asked often enough); {plan.customers} customers x {each} "
        f"= {plan.customers * each}"
    )
    return plan.customers * each, arithmetic


# --- the simulated clock, shared with the simulator -------------------------------------------


class SimulatedClock:
    """Wall time plus the simulator's clock offset, read from memory the coordinator writes."""

    def __init__(self, offset: Any) -> None:
        self._offset = offset  # a multiprocessing RawValue("d"); written only between rounds

    def offset_seconds(self) -> float:
        return float(self._offset.value)

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset_seconds(), UTC)


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

    def seller_logins(self, count: int) -> list[str]:
        """The first ``count`` sellers; ValueError if the simulator has fewer."""
        logins = [str(user["login"]) for user in self.users()]
        if len(logins) < count:
            raise ValueError(
                f"the simulator has {len(logins)} sellers; start it with users>={count}"
            )
        return logins[:count]


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


def connect_customers(settings: Settings, logins: Sequence[str]) -> list[ConnectedCustomer]:
    """One new customer per login, each connected through the consent flow, in order."""
    upgrade(settings.resolved_control_url)
    connected = []
    with (
        open_control(settings) as control,
        closing(oauth_client(settings)) as oauth,
        requests.Session() as browser,
    ):
        for index, login in enumerate(logins):
            created = customers.create_customer(control.engine, f"Load {index:03d} {login}")
            consent_as_seller(control, created.id, login, oauth=oauth, browser=browser)
            connected.append(ConnectedCustomer(created.id, login))
    return connected


def worker_order(connected: Sequence[ConnectedCustomer], worker: int) -> list[ConnectedCustomer]:
    """The customers in the order ``worker`` asks for them each round.

    Four groups of workers start at the four quarters of the list, so from the first ask of a
    round several processes want the same customer's token at the same moment.
    """
    start = (worker % 4) * len(connected) // 4
    return [*connected[start:], *connected[:start]]


# --- a worker process --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """Everything a worker process needs (picklable: it crosses a spawn)."""

    index: int
    settings: dict[str, Any]
    customers: tuple[ConnectedCustomer, ...]
    rounds: int


def run_worker(job: WorkerJob, offset: Any, barrier: Any, ready: Any, results: Any) -> None:
    """One worker process: between the coordinator's barriers, ask and use every token."""
    tally = WorkerTally(job.index)
    try:
        settings = Settings(**job.settings)  # every field given: the environment is not read
        clock = SimulatedClock(offset)
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
                settings.api_url, manager, timeout=settings.http_timeout_seconds
            ) as api:
                for _ in range(job.rounds):
                    barrier.wait(timeout=BARRIER_SECONDS)  # the clocks are set: go
                    ask_every_customer(api, job.customers, tally)
                    barrier.wait(timeout=BARRIER_SECONDS)  # done: the clocks may move
    except Exception as exc:
        tally.fatal = f"{type(exc).__name__}: {exc}"
        barrier.abort()  # the others must not wait for this worker forever
    finally:
        results.put(tally)


def ask_every_customer(
    api: AllegroAdsClient, connected: Sequence[ConnectedCustomer], tally: WorkerTally
) -> None:
    """``GET /me`` with each customer's token; the answer must be that customer's account."""
    for customer in connected:
        try:
            me = api.me(customer.customer_id)
        except Exception as exc:
            tally.fail(f"{customer.customer_id}: {type(exc).__name__}: {exc}")
            continue
        if me.login != customer.login:
            tally.fail(f"{customer.customer_id}: token of {me.login}, expected {customer.login}")
        else:
            tally.api_calls += 1


# --- the run ---------------------------------------------------------------------------------


def run_refresh_load(
    control_url: str, simulator_url: str, plan: LoadPlan, folder: Path
) -> RefreshLoadResult:
    """Connect ``plan.customers`` customers, run the simulated period, count on Allegro's side.

    The simulator must be fresh (its clock never advanced: consents are stamped with wall
    time) and have at least ``plan.customers`` sellers.
    """
    began = time.perf_counter()
    sim = SimulatorHandle(simulator_url)
    try:
        if sim.offset_clock()[1] != 0:
            raise ValueError("the simulator's clock was already advanced; start a fresh one")
        settings = load_settings_for(control_url, simulator_url, folder)
        connecting = time.perf_counter()
        connected = connect_customers(settings, sim.seller_logins(plan.customers))
        connect_seconds = time.perf_counter() - connecting
        before = sim.stats()
        tallies, rounds_seconds = _run_workers(sim, settings, connected, plan)
        after = sim.stats()
        ttl = sim.access_ttl_seconds()
    finally:
        sim.close()
    minimum, arithmetic = minimum_refreshes(plan, ttl, settings.refresh_margin_seconds)
    return RefreshLoadResult(
        store=make_url(control_url).get_backend_name(),
        workers=plan.workers,
        customers=plan.customers,
        simulated_hours=plan.hours,
        step_seconds=plan.step_seconds,
        rounds=plan.rounds,
        access_ttl_seconds=ttl,
        refresh_margin_seconds=settings.refresh_margin_seconds,
        refreshes=_delta(before, after, "refreshes_ok"),
        minimum_refreshes=minimum,
        minimum_arithmetic=arithmetic,
        invalid_grant=_delta(before, after, "invalid_grant"),
        refreshes_failed=_delta(before, after, "refreshes_failed"),
        unauthorized=after["statuses"].get("401", 0) - before["statuses"].get("401", 0),
        api_calls=sum(t.api_calls for t in tallies),
        api_calls_expected=plan.workers * plan.customers * plan.rounds,
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
    connected: Sequence[ConnectedCustomer],
    plan: LoadPlan,
) -> tuple[list[WorkerTally], float]:
    """Start the workers, step both clocks round by round, collect every tally."""
    context = worker_context()
    offset = context.RawValue("d", sim.offset_clock()[1])
    barrier = context.Barrier(plan.workers + 1)
    ready, results = context.Queue(), context.Queue()
    dumped = settings.model_dump()
    processes = [
        context.Process(
            target=run_worker,
            args=(
                WorkerJob(index, dumped, tuple(worker_order(connected, index)), plan.rounds),
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
