"""Chaos tooling for ``tests/chaos`` and ``bench/chaos.py``; the product never imports it.

It acts on a run from outside, as an operator's bad day would: ``ad_stats_job`` runs in a child
process (``ChildRun``) that stops inside the transaction of a chosen warehouse load and says so;
``kill_during_load`` sees from another process that it holds the warehouse's write lock (the
DuckDB lock file, PostgreSQL's advisory lock) and sends it SIGKILL there; and
``ConsentWithdrawal`` revokes an account's consent (an agency account's or a seller's) on the
simulator once it has served a number of statistics calls. ``FaultPlan`` is the mix of simulator
faults a chaos run switches on.
"""

from __future__ import annotations

import fcntl
import itertools
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import dagster as dg
from dagster._core.instance.ref import InstanceRef  # what DagsterInstance.get_ref() returns
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from warehouse import stats_loader
from warehouse.backends import duckdb_path
from warehouse.postgres_warehouse import _LOCK_NAMESPACE
from warehouse.stats_loader import LoadResult, RunStatement, SliceLoad

JOB = "ad_stats_job"
ASSET = "ad_daily_stats"
# The advisory-lock namespace PostgresWarehouse takes as the first statement of every load.
_PG_LOAD_LOCKS = """
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND classid = :namespace AND objsubid = 2
      AND objid <> 0
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
)"""
PAUSED_AT_MOST = 600.0  # a paused load waits this long for its kill, then fails the run


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The simulator faults of a chaos run (API paths only: OAuth is left alone)."""

    fail_rate: float = 0.2  # share of calls answered 503
    spike_rate: float = 0.15  # share of calls delayed by spike_ms
    spike_ms: int = 3000
    storm: int = 6  # 429s in a row (with Retry-After) at the start of each run
    retry_after: int = 1
    truncate: int = 1  # answers cut in half (first run only)

    def first_run(self, removed_clients: Sequence[str]) -> dict[str, Any]:
        """The faults for the first run: everything, from a clean slate."""
        return {**self.rerun(), "reset": True, "truncate_next": self.truncate} | {
            "remove_clients": list(removed_clients)
        }

    def rerun(self) -> dict[str, Any]:
        """The faults for the re-run: the same weather, a new 429 storm, no truncation."""
        return {
            "fail_rate": self.fail_rate,
            "spike_rate": self.spike_rate,
            "spike_ms": self.spike_ms,
            "throttle_next": self.storm,
            "retry_after": self.retry_after,
            "truncate_next": 0,
        }


# --- a run of the job in a child process -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One asset check evaluation, as plain values."""

    passed: bool
    description: str
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a finished run reports (a killed one reports nothing)."""

    run_id: str
    success: bool
    metadata: dict[str, Any]
    checks: dict[str, CheckOutcome]


@dataclass(frozen=True, slots=True)
class LoadPaused:
    """Said by a child run stopped inside the transaction of its ``load``-th warehouse load."""

    load: int


class PausedTooLong(RuntimeError):
    """A paused load was never killed; it rolls back so the run ends (and says why)."""


def _pause_inside_load(number: int, report: Connection) -> None:
    """Stop this process's ``number``-th warehouse load inside its transaction, every statement
    run and nothing committed, say ``LoadPaused`` on ``report`` and wait there for the kill.

    Loads of one run are serialised (``sync_statistics`` writes one at a time), so no other
    load commits while this one waits."""
    replace_slice = stats_loader._replace_slice
    numbers = itertools.count(1)
    counting = threading.Lock()

    def pausing(load: SliceLoad, run: RunStatement) -> LoadResult:
        result = replace_slice(load, run)
        with counting:
            current = next(numbers)
        if current == number:
            report.send(LoadPaused(current))
            threading.Event().wait(PAUSED_AT_MOST)
            raise PausedTooLong(f"load {current} waited {PAUSED_AT_MOST:.0f} s for a kill")
        return result

    stats_loader._replace_slice = pausing


def _execute(
    instance_ref: InstanceRef,
    run_id: str,
    tags: dict[str, str],
    log_path: str | None,
    pause_at_load: int | None,
    report: Connection,
) -> None:
    """The child's body: one run of the job on the shared instance; its summary to ``report``
    (before it, ``LoadPaused`` if the run stops inside its ``pause_at_load``-th load)."""
    if log_path:  # Dagster logs every event; keep them out of the parent's terminal
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
    if pause_at_load is not None:
        _pause_inside_load(pause_at_load, report)
    from pipelines.definitions import build_definitions

    job = build_definitions().resolve_job_def(JOB)
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        result = job.execute_in_process(
            instance=instance, tags=tags, run_id=run_id, raise_on_error=False
        )
    report.send(run_summary(result))


def run_summary(result: dg.ExecuteInProcessResult) -> RunSummary:
    """A finished run's success, materialisation metadata and check outcomes, as plain values."""
    materializations = result.asset_materializations_for_node(ASSET)
    metadata = (
        {k: v.value for k, v in materializations[-1].metadata.items()} if materializations else {}
    )
    checks = {
        e.check_name: CheckOutcome(
            e.passed, e.description or "", {k: v.value for k, v in e.metadata.items()}
        )
        for e in result.get_asset_check_evaluations()
    }
    return RunSummary(result.run_id, result.success, metadata, checks)


class ChildRun:
    """One run of ``ad_stats_job`` over the partition range its tags name, in a spawned child.

    The child inherits this process's environment (the ``ALLEGRO_ADS_*`` settings) and opens the
    Dagster instance from ``instance_ref``, so the run is recorded where the parent looks. With
    ``pause_at_load`` it stops inside the transaction of that load and waits to be killed.
    """

    def __init__(
        self,
        instance_ref: InstanceRef,
        tags: Mapping[str, str],
        *,
        log_path: Path | None = None,
        pause_at_load: int | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")  # fork would copy the parent's threads
        self.run_id = str(uuid.uuid4())  # what Dagster's own run ids are
        self.pause_at_load = pause_at_load
        self._messages, theirs = context.Pipe(duplex=False)
        self._ended: list[RunSummary | None] = []  # the summary, once read
        self.process = context.Process(
            target=_execute,
            args=(
                instance_ref,
                self.run_id,
                dict(tags),
                log_path and str(log_path),
                pause_at_load,
                theirs,
            ),
            name=f"chaos-run-{self.run_id[:8]}",
            daemon=True,
        )
        self.started = time.monotonic()
        self.process.start()
        theirs.close()

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        """SIGKILL the child: no cleanup of any kind runs in it."""
        if self.process.pid is not None and self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=30)

    def wait_for_pause(self, timeout: float) -> LoadPaused | None:
        """``LoadPaused`` once the child stopped inside its ``pause_at_load``-th load, or None if
        the run ended first (its summary is kept for ``wait``). ``timeout`` guards a hang."""
        message = self._next(timeout, "stop inside a load")
        if isinstance(message, LoadPaused):
            return message
        self._ended.append(message)
        return None

    def wait(self, timeout: float) -> RunSummary | None:
        """The run's summary once it ends, or None if the child died without one."""
        if not self._ended:
            message = self._next(timeout, "end")
            if isinstance(message, LoadPaused):
                raise RuntimeError(f"run {self.run_id} is paused inside load {message.load}")
            self._ended.append(message)
        self.process.join(timeout=30)
        return self._ended[0]

    def _next(self, timeout: float, what: str) -> LoadPaused | RunSummary | None:
        if not self._messages.poll(timeout):
            self.kill()
            raise TimeoutError(f"run {self.run_id} did not {what} within {timeout:.0f} s; killed")
        try:
            message: LoadPaused | RunSummary = self._messages.recv()
        except EOFError:  # the child is gone and its end of the pipe with it
            return None
        return message


# --- seeing a load from outside ----------------------------------------------------------------


class LoadProbe(Protocol):
    """Tells, from another process, whether some process is writing a load right now."""

    def busy(self) -> bool: ...

    def close(self) -> None: ...


class DuckDBLoadProbe:
    """Busy while a process holds ``<file>.lock``, which DuckDBWarehouse takes for each load."""

    def __init__(self, warehouse_url: str) -> None:
        path = duckdb_path(warehouse_url)
        self.lock_path = path.with_name(path.name + ".lock")

    def busy(self) -> bool:
        try:
            fd = os.open(self.lock_path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)  # held for microseconds: a writer just retries
            return False
        finally:
            os.close(fd)

    def close(self) -> None:
        return None


class PostgresLoadProbe:
    """Busy while a session holds a per-customer load lock of PostgresWarehouse (inside the
    load's transaction, taken before anything is written)."""

    def __init__(self, warehouse_url: str) -> None:
        url = make_url(warehouse_url).set(drivername="postgresql+psycopg2")
        self._engine = create_engine(url, poolclass=NullPool)
        self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def busy(self) -> bool:
        return bool(
            self._conn.execute(text(_PG_LOAD_LOCKS), {"namespace": _LOCK_NAMESPACE}).scalar()
        )

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()


def load_probe(warehouse_url: str) -> LoadProbe:
    """The probe for the warehouse at ``warehouse_url``."""
    if warehouse_url.lower().startswith("duckdb:"):
        return DuckDBLoadProbe(warehouse_url)
    return PostgresLoadProbe(warehouse_url)


@dataclass(frozen=True, slots=True)
class KillPoint:
    """Where a run was killed: during its n-th load, so many seconds after it started."""

    load: int
    seconds: float


class LoadNotHeld(AssertionError):
    """The child said it was inside a load, but no process holds the warehouse's write lock."""


def kill_during_load(
    run: ChildRun,
    probe: LoadProbe,
    *,
    timeout: float = 300.0,
    before_kill: Callable[[], object] | None = None,
) -> KillPoint | None:
    """SIGKILL ``run`` inside the transaction of its ``pause_at_load``-th load, once it stopped
    there and ``probe`` sees the write lock held (``before_kill`` runs just before the kill, the
    child still inside the load); None if the run ended first."""
    if run.pause_at_load is None:
        raise ValueError("start the ChildRun with pause_at_load to kill it during a load")
    paused = run.wait_for_pause(timeout)
    if paused is None:
        return None
    if not probe.busy():
        run.kill()
        raise LoadNotHeld(f"run {run.run_id} paused in load {paused.load} without the lock")
    if before_kill is not None:
        before_kill()
    run.kill()
    return KillPoint(paused.load, round(time.monotonic() - run.started, 2))


# --- consent withdrawn mid-run -------------------------------------------------------------------


@dataclass
class ConsentWithdrawal:
    """Revoke an account's consent once the simulator has served ``after_calls`` statistics
    calls.

    ``stats`` and ``revoke`` are the simulator's ``/_sim/stats`` and ``/_sim/revoke`` helpers.
    """

    stats: Callable[[], Mapping[str, Any]]
    revoke: Callable[[], object]
    after_calls: int
    poll: float = 0.02
    at_call: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _looking: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> ConsentWithdrawal:
        self._thread = threading.Thread(target=self._watch, name="consent-withdrawal", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; ``at_call`` says whether (and when) the consent was withdrawn."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def finish(self) -> None:
        """Stop watching, then look once more. Called while the run makes no more calls (paused
        inside a load), so whether it has passed ``after_calls`` no longer depends on when the
        watcher last looked."""
        self.stop()
        self._look()

    def _watch(self) -> None:
        while not self._stop.is_set() and not self._look():
            self._stop.wait(self.poll)

    def _look(self) -> bool:
        """Withdraw the consent if the run has passed ``after_calls``; whether it is withdrawn."""
        with self._looking:
            if self.at_call is None:
                calls = int(self.stats()["statistics_calls"])
                if calls >= self.after_calls:
                    self.revoke()
                    self.at_call = calls
            return self.at_call is not None
