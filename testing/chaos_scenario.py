"""The chaos scenario end to end, shared by the chaos tests and ``bench/chaos.py``.

An agency (``pipeline_agency.Agency``: simulator, control store, warehouse, Dagster instance)
with two agency accounts connected by the device flow, whose clients are adopted as customers
(each consenting its sales account through the real link flow). With the simulator's faults on
(``testing.chaos.FaultPlan``: 5xx, 429 storms with Retry-After, latency spikes of seconds, a
truncated answer, one client removed from the agency), ``ad_stats_job`` runs in a child process;
the second agency account's connection is revoked mid-run (the agency removed the application in
Allegro); the run is killed with SIGKILL during its second warehouse load. Dagster is told the
run failed (what run monitoring does for a dead worker), then ONE re-run of the same days runs
(in this process, under the same faults minus the truncation), and ``ChaosOutcome`` records what
the warehouse, the control store and the simulator look like afterwards.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from sqlalchemy import case, func, select

from allegro_resource.ads_client import AllegroAdsClient
from control_store.database import upgrade
from control_store.schema import api_calls
from control_store.token_store import TokenInfo
from pipelines.checks import ALL_LOADED
from pipelines.partitions import range_tags
from services.clients import oauth_client, token_manager
from services.control import open_control
from settings.config import load_settings
from simulator.server import start_simulator
from simulator.state import SimulatorConfig
from testing.chaos import (
    ChildRun,
    ConsentWithdrawal,
    FaultPlan,
    KillPoint,
    RunSummary,
    kill_during_load,
    load_probe,
    run_summary,
)
from testing.pipeline_agency import Agency, Connected, days_back
from testing.stat_tables import table_rows
from warehouse import stats_queries
from warehouse.backends import open_warehouse

SEED = 42
# One line of the check's "errors" metadata: - **name** (`id`): error  (then "fix: …").
_ERROR_LINE = re.compile(r"^- \*\*.*?\*\* \(`(?P<id>[^`]+)`\): (?P<error>.*?)\s*$", re.MULTILINE)
RUN_TIMEOUT = 240.0
KILLED_LOAD = 2  # the first run is killed inside the transaction of its second load
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # no line per event
# Dagster's SQLite storage commits every event: on tmpfs when there.
FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


AGENCIES = 2
REVOKED_AGENCY = "agency2"  # the agency account whose connection is revoked mid-run


@dataclass(frozen=True)
class Cast:
    """Who plays what: the customers behind the second agency account lose it mid-run, the
    last customer of the first is removed from the agency; the others are healthy."""

    healthy: list[Connected]
    revoked: list[Connected]  # behind REVOKED_AGENCY, revoked during the first run
    removed: Connected  # removed from the agency in Allegro Ads before the first run

    @classmethod
    def of(cls, customers: list[Connected]) -> Cast:
        revoked = [c for c in customers if c.agency_login == REVOKED_AGENCY]
        *healthy, removed = [c for c in customers if c.agency_login != REVOKED_AGENCY]
        if len(healthy) < 2 or not revoked:
            raise ValueError(
                "the chaos scenario needs at least 5 customers (2 healthy, 1 removed, and "
                f"customers of {REVOKED_AGENCY})"
            )
        return cls(healthy, revoked, removed)


@dataclass
class ChaosOutcome:
    """Everything the scenario observed; the tests assert on it, the bench prints it."""

    start: date
    end: date
    cast: Cast
    plan: FaultPlan
    killed_run_id: str
    kill: KillPoint
    killed_run_status: tuple[str, str]  # in Dagster: as the kill left it, once told it failed
    revoked_agency_id: str  # the ag_ id of REVOKED_AGENCY
    withdrawn_at_call: int | None
    days_loaded_after_kill: dict[str, int]  # customer id -> days of the range in load_log
    rows_after_kill: dict[str, int]  # customer id -> fact rows of the range
    logged_rows_after_kill: dict[str, int]  # customer id -> rows load_log says it holds
    rerun: RunSummary
    rerun_seconds: float
    simulator: dict[str, Any]  # /_sim/stats after both runs
    calls_by_run: dict[str, tuple[int, int]]  # run id -> (calls logged, retried attempts)
    rows_checked: int = 0
    mismatched: list[str] = field(default_factory=list)  # healthy customers unlike the truth
    duplicates: int = 0
    missing_days: dict[str, list[date]] = field(default_factory=dict)
    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    usable: dict[str, str] = field(default_factory=dict)  # healthy customer -> "ok" or error
    seconds: float = 0.0

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def flagged(self) -> dict[str, str]:
        """Customer id -> the error the re-run's ``every_connected_customer_loaded`` names."""
        errors = str(self.rerun.checks[ALL_LOADED].metadata.get("errors", ""))
        return {m["id"]: m["error"] for m in _ERROR_LINE.finditer(errors)}


ChaosOutcomes = Callable[[str], ChaosOutcome]
"""The chaos tests' session fixture: the scenario's outcome on a backend, run once."""


# --- the agency ------------------------------------------------------------------------------


@contextmanager
def chaos_agency(
    folder: Path,
    customers: int,
    *,
    seed: int = SEED,
    postgres_url: str | None = None,
) -> Iterator[Agency]:
    """An agency in ``folder`` with its two agency accounts connected and ``customers`` of their
    clients adopted, each consenting its sales account: DuckDB warehouse and SQLite control
    store, or both in the PostgreSQL database ``postgres_url``; Dagster's storage in a temporary
    folder. The ``ALLEGRO_ADS_*`` variables it sets (child runs inherit them) are
    restored on exit."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("ALLEGRO_ADS_")}
    with ExitStack() as stack:
        stack.callback(_restore_environment, saved)
        for name in saved:
            if name != "ALLEGRO_ADS_TEST_POSTGRES_URL":
                del os.environ[name]
        _point_at_stores(folder / "data", postgres_url)
        config = SimulatorConfig(
            seed=seed,
            users=max(customers, 10),
            agencies=AGENCIES,
            redirect_uris=(load_settings().redirect_uri,),
        )
        simulator = start_simulator(config)
        stack.callback(simulator.stop)
        os.environ["ALLEGRO_ADS_API_URL"] = os.environ["ALLEGRO_ADS_AUTH_URL"] = simulator.base_url
        settings = load_settings()
        upgrade(settings.resolved_control_url)
        # The schema exists before any run, so the only writes a load probe sees are loads.
        open_warehouse(settings.resolved_warehouse_url).close()
        home = stack.enter_context(
            tempfile.TemporaryDirectory(dir=FAST_TMP, ignore_cleanup_errors=True)
        )
        instance = stack.enter_context(dg.instance_for_test(temp_dir=home))
        agency = Agency("postgres" if postgres_url else "duckdb", settings, simulator, instance)
        for account in simulator.agencies():
            agency.connect_agency(account["login"])
        for user in simulator.users()[:customers]:
            agency.connect(user["login"], user["name"])
        yield agency


def _point_at_stores(data_dir: Path, postgres_url: str | None) -> None:
    """``ALLEGRO_ADS_*`` naming the data folder, the control store and the warehouse."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["ALLEGRO_ADS_DATA_DIR"] = str(data_dir)
    os.environ["ALLEGRO_ADS_CONTROL_URL"] = postgres_url or f"sqlite:///{data_dir / 'control.db'}"
    os.environ["ALLEGRO_ADS_WAREHOUSE_URL"] = (
        postgres_url or f"duckdb:///{data_dir / 'warehouse.duckdb'}"
    )


def _restore_environment(saved: dict[str, str]) -> None:
    for name in [k for k in os.environ if k.startswith("ALLEGRO_ADS_")]:
        del os.environ[name]
    os.environ.update(saved)


# --- the scenario ----------------------------------------------------------------------------


def run_chaos(
    agency: Agency,
    days: int,
    plan: FaultPlan | None = None,
    *,
    log_dir: Path | None = None,
) -> ChaosOutcome:
    """Faults on, first run killed mid-load with an agency connection revoked during it, one
    re-run, then everything measured against the simulator's truth."""
    plan = plan or FaultPlan()
    began = time.monotonic()
    cast = Cast.of(agency.customers)
    start, end = days_back(days)
    tags = range_tags(start, end)
    sim = agency.simulator
    sim.faults(**plan.first_run([cast.removed.ads_client_id]))

    first = ChildRun(
        agency.instance.get_ref(),
        tags,
        log_path=_log(log_dir, "first-run.log"),
        pause_at_load=KILLED_LOAD,
    )
    probe = load_probe(agency.settings.resolved_warehouse_url)
    withdrawal = ConsentWithdrawal(
        sim.stats, lambda: sim.revoke(REVOKED_AGENCY), after_calls=len(agency.customers)
    ).start()
    try:
        kill = kill_during_load(first, probe, timeout=RUN_TIMEOUT, before_kill=withdrawal.finish)
    finally:
        probe.close()
        withdrawal.stop()
    if kill is None:
        summary = first.wait(RUN_TIMEOUT)
        where = f"; its log: {log_dir / 'first-run.log'}" if log_dir else ""
        raise AssertionError(f"the first run ended before its second load: {summary}{where}")
    statuses = _mark_killed_run_failed(agency.instance, first.run_id)
    after_kill = _load_state(agency, start, end)

    sim.faults(**plan.rerun())
    rerun_began = time.monotonic()
    summary = run_summary(agency.execute(tags, run_config=QUIET))  # ONE re-run, same days
    rerun_seconds = round(time.monotonic() - rerun_began, 1)
    stats = sim.stats()
    sim.faults(reset=True)  # the checks below are about the data, not the weather

    outcome = ChaosOutcome(
        start=start,
        end=end,
        cast=cast,
        plan=plan,
        killed_run_id=first.run_id,
        kill=kill,
        killed_run_status=statuses,
        revoked_agency_id=agency.agency_accounts[REVOKED_AGENCY],
        withdrawn_at_call=withdrawal.at_call,
        days_loaded_after_kill=after_kill[0],
        rows_after_kill=after_kill[1],
        logged_rows_after_kill=after_kill[2],
        rerun=summary,
        rerun_seconds=rerun_seconds,
        simulator=stats,
        calls_by_run=_calls_by_run(agency),
    )
    _verify_against_truth(agency, outcome)
    _inspect_tokens(agency, outcome)
    outcome.seconds = round(time.monotonic() - began, 1)
    return outcome


def _log(log_dir: Path | None, name: str) -> Path | None:
    return log_dir / name if log_dir is not None else None


def _mark_killed_run_failed(instance: dg.DagsterInstance, run_id: str) -> tuple[str, str]:
    """Fail the dead run as run monitoring would; its status before and after."""
    run = instance.get_run_by_id(run_id)
    assert run is not None, f"Dagster has no run {run_id}"
    if not run.is_finished:
        instance.report_run_failed(run, message="the run worker was killed (SIGKILL) mid-load")
    after = instance.get_run_by_id(run_id)
    assert after is not None
    return run.status.value, after.status.value


def _load_state(
    agency: Agency, start: date, end: date
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Per customer: days of [start, end] in load_log, fact rows, and the rows load_log claims."""
    days: dict[str, int] = {}
    rows: dict[str, int] = {}
    logged: dict[str, int] = {}
    total = (end - start).days + 1
    with agency.warehouse() as wh:
        for customer in agency.customers:
            cid = customer.customer_id
            days[cid] = total - len(stats_queries.missing_days(wh, cid, start, end))
            rows[cid] = table_rows(wh, cid, start, end).num_rows
            claimed = wh.read(
                "SELECT COALESCE(SUM(rows), 0) AS n FROM load_log "
                "WHERE customer_id = $customer_id AND day BETWEEN $start AND $end",
                {"customer_id": cid, "start": start, "end": end},
            )
            logged[cid] = int(claimed.column("n")[0].as_py())
    return days, rows, logged


def _calls_by_run(agency: Agency) -> dict[str, tuple[int, int]]:
    """API calls in the control store's log per run: (calls, attempts after the first)."""
    retried = func.sum(case((api_calls.c.attempt > 1, 1), else_=0))
    query = select(api_calls.c.run_id, func.count(), retried).group_by(api_calls.c.run_id)
    with open_control(agency.settings) as control, control.engine.connect() as conn:
        return {str(run_id): (int(n), int(r or 0)) for run_id, n, r in conn.execute(query)}


def _verify_against_truth(agency: Agency, outcome: ChaosOutcome) -> None:
    start, end = outcome.start, outcome.end
    for customer in outcome.cast.healthy:
        truth = agency.truth(customer, start, end)
        outcome.rows_checked += len(truth)
        if agency.stored(customer, start, end) != truth:
            outcome.mismatched.append(customer.customer_id)
    with agency.warehouse() as wh:
        outcome.duplicates = len(stats_queries.duplicate_keys(wh, start, end))
        for customer in outcome.cast.healthy:
            missing = stats_queries.missing_days(wh, customer.customer_id, start, end)
            if missing:
                outcome.missing_days[customer.customer_id] = missing


def _inspect_tokens(agency: Agency, outcome: ChaosOutcome) -> None:
    """Every stored connection, and whether each healthy customer's pair still refreshes and
    calls Allegro."""
    with open_control(agency.settings) as control:
        outcome.tokens = {info.account_id: info for info in control.tokens.list_info()}
        oauth = oauth_client(agency.settings)
        manager = token_manager(control, oauth)
        with AllegroAdsClient(agency.settings.api_url, manager) as client:
            for customer in outcome.cast.healthy:
                try:
                    manager.access_token(customer.customer_id, force_refresh=True)
                    client.me(customer.customer_id)
                except Exception as exc:  # reported, never raised: the tests assert on it
                    outcome.usable[customer.customer_id] = f"{type(exc).__name__}: {exc}"
                else:
                    outcome.usable[customer.customer_id] = "ok"
        oauth.close()
