"""Chaos tooling for ``tests/chaos`` and ``bench/chaos.py``; the product never imports it.

It acts on a run from outside, as an operator's bad day would: ``ad_stats_job`` runs in a child
process (``ChildRun``); ``kill_during_load`` sends it SIGKILL while it holds the warehouse's write
lock, seen from another process (the DuckDB lock file, PostgreSQL's advisory lock); and
``ConsentWithdrawal`` revokes a seller's consent on the simulator once it has served a number of
statistics calls. ``FaultPlan`` is the mix of simulator faults a chaos run switches on.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import dagster as dg
from dagster._core.instance.ref import InstanceRef  # what DagsterInstance.get_ref() returns
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from warehouse.backends import duckdb_path
from warehouse.postgres_warehouse import _LOCK_NAMESPACE

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


def _execute(
    instance_ref: InstanceRef,
    run_id: str,
    tags: dict[str, str],
    log_path: str | None,
    report: Any,
) -> None:
    """The child's body: one run of the job on the shared instance; its summary to ``report``."""
    if log_path:  # Dagster logs every event; keep them out of the parent's terminal
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
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
    Dagster instance from ``instance_ref``, so the run is recorded where the parent looks.
    """

    def __init__(
        self,
        instance_ref: InstanceRef,
        tags: Mapping[str, str],
        *,
        log_path: Path | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")  # fork would copy the parent's threads
        self.run_id = str(uuid.uuid4())  # what Dagster's own run ids are
        self._summary, theirs = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_execute,
            args=(instance_ref, self.run_id, dict(tags), log_path and str(log_path), theirs),
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

    def wait(self, timeout: float) -> RunSummary | None:
        """The run's summary once it ends, or None if the child died without one."""
        if not self._summary.poll(timeout):
            self.kill()
            raise TimeoutError(f"run {self.run_id} did not end within {timeout:.0f} s; killed")
        try:
            summary: RunSummary | None = self._summary.recv()
        except EOFError:  # the child is gone and its end of the pipe with it
            summary = None
        self.process.join(timeout=30)
        return summary


# --- seeing a load from outside ----------------------------------------------------------------


class LoadProbe(Protocol):
    """Tells, from another process, whether some process is writing a load right now."""

    settle_seconds: float  # from seeing a load to being surely inside its transaction

    def busy(self) -> bool: ...

    def close(self) -> None: ...


class DuckDBLoadProbe:
    """Busy while a process holds ``<file>.lock``, which DuckDBWarehouse takes for each load."""

    # The lock is taken before connecting, which takes 15-60 ms (more on a busy machine).
    settle_seconds = 0.05

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

    settle_seconds = 0.0  # the lock is the transaction's first statement

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


def kill_during_load(
    run: ChildRun,
    probe: LoadProbe,
    *,
    load: int = 2,
    timeout: float = 300.0,
    poll: float = 0.002,
) -> KillPoint | None:
    """SIGKILL ``run`` inside the transaction of its ``load``-th load (``probe.settle_seconds``
    after the load is seen), or of the first later one if that load was over by then; None if
    the run ended first."""
    seen, was_busy = 0, False
    deadline = time.monotonic() + timeout
    while run.alive:
        if time.monotonic() > deadline:
            run.kill()
            raise TimeoutError(f"run {run.run_id} made no {load} loads in {timeout:.0f} s")
        busy = probe.busy()
        if busy and not was_busy:
            seen += 1
            if seen >= load:
                time.sleep(probe.settle_seconds)
                if probe.busy():
                    run.kill()
                    return KillPoint(seen, round(time.monotonic() - run.started, 2))
                busy = False  # over already: count the next one
        was_busy = busy
        time.sleep(poll)
    return None


# --- consent withdrawn mid-run -------------------------------------------------------------------


@dataclass
class ConsentWithdrawal:
    """Revoke a seller's consent once the simulator has served ``after_calls`` statistics calls.

    ``stats`` and ``revoke`` are the simulator's ``/_sim/stats`` and ``/_sim/revoke`` helpers.
    """

    stats: Callable[[], Mapping[str, Any]]
    revoke: Callable[[], object]
    after_calls: int
    poll: float = 0.02
    at_call: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
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

    def _watch(self) -> None:
        while not self._stop.is_set():
            calls = int(self.stats()["statistics_calls"])
            if calls >= self.after_calls:
                self.revoke()
                self.at_call = calls
                return
            self._stop.wait(self.poll)
