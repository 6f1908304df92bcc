"""Benchmark: one Dagster backfill run over every customer's history, end to end.

In a temporary data folder: starts the simulator (in a child process by default, so its memory
and CPU are not counted as the pipeline's), connects the agency account by the device flow,
lists its clients, adopts ``--customers`` of them as customers and connects each one's sales
account through the real consent service functions (link, ``begin_consent``, the seller
approving on the simulator's page, ``finish_consent``), switches on ``--latency-ms`` per API
call, then launches ONE run of ``ad_stats_job`` on a Dagster instance in a temporary
``DAGSTER_HOME`` (SQLite storage, or PostgreSQL with ``--dagster-pg-url``) with range tags over
the whole range (the single-run backfill path). Measures the run's wall time and CPU time, the
process's peak RSS, rows, API calls (from the run's metadata) and rows per second.

Then the load step alone: the largest customer's rows read back from the warehouse (facts
joined with the dimension names, i.e. the table a load receives) are loaded with
``Warehouse.load_slice`` into a fresh DuckDB warehouse, and inserted with a bare
``INSERT INTO t SELECT * FROM arrow_table`` into a keyless table of the same columns in another
fresh file; both timings include connecting and closing (DuckDB checkpoints on close).

``--daily``: the daily run instead: ONE run of ``daily_job`` (agency clients, statistics, offers;
what the schedule launches) over the last ``--days`` days (14 by default, the lookback), timed
after a first, untimed run over the same days, so that it replaces stored days as each day's run
does. No load-step comparison then.

The last line on stdout is JSON. Run: ``.venv/bin/python -m bench.backfill [--customers 20
--days 730 --latency-ms 30]``, ``.venv/bin/python -m bench.backfill --daily --customers 200``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import requests

from control_store import agency_clients
from control_store.database import upgrade
from pipelines.event_storage import local_storage_yaml
from services.clients import oauth_client
from services.control import open_control
from settings.config import Settings, load_settings
from testing.bench_simulator import start_bench_simulator
from testing.pipeline_agency import connect_agency_account, list_agency_clients
from testing.simulated_consent import consent_as_seller
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse
from warehouse.stats_schema import LOAD_COLUMNS, LOAD_SCHEMA

SEED = 42


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=20, help="customers to connect")
    parser.add_argument(
        "--days", type=int, help="days, ending yesterday (730; 14 with --daily: the lookback)"
    )
    parser.add_argument(
        "--daily",
        action="store_true",
        help="time the daily run (daily_job over the lookback, days already stored)",
    )
    parser.add_argument("--latency-ms", type=int, default=30, help="simulated latency per call")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="customers fetched at once (settings' default)",
    )
    parser.add_argument(
        "--simulator",
        choices=("process", "thread"),
        default="process",
        help="serve the simulator from a child process (default) or a thread of this one",
    )
    parser.add_argument(
        "--dagster-pg-url",
        help="keep Dagster's storage in this (empty) PostgreSQL database, as deploy/dagster.yaml "
        "does, instead of SQLite files in the temporary DAGSTER_HOME",
    )
    parser.add_argument("--dir", type=Path, help="where to make the temporary folder")
    return parser.parse_args(argv)


# --- the simulator -------------------------------------------------------------------


# --- the agency ------------------------------------------------------------------------


def connect_customers(settings: Settings, base_url: str, sellers: list[dict[str, Any]]) -> None:
    """Connect the agency account, list its clients, adopt each seller's client as a customer
    and connect its sales account through the consent service functions."""
    account_id = connect_agency_account(settings, base_url)
    list_agency_clients(settings)
    oauth = oauth_client(settings)
    with open_control(settings) as control, requests.Session() as browser:
        for seller in sellers:
            customer = agency_clients.adopt_client(
                control.engine,
                account_id,
                seller["ads_client_id"],
                name=f"{seller['name']} [{seller['login']}]",
            )
            consent_as_seller(control, customer.id, seller["login"], oauth=oauth, browser=browser)


# --- the run -------------------------------------------------------------------------------


def run_backfill(start_day: date, end: date, job_name: str = "ad_stats_job") -> dict[str, Any]:
    """ONE run of ``job_name`` over [start_day, end] on the instance in DAGSTER_HOME."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.partitions import range_tags

    job = build_definitions().resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        began, cpu_began = time.perf_counter(), time.process_time()
        result = job.execute_in_process(
            instance=instance,
            tags=range_tags(start_day, end),
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        runs = len(instance.get_runs())
        steps = step_seconds(instance, result.run_id)
    materializations = result.asset_materializations_for_node("ad_daily_stats")
    if not result.success or not materializations:
        raise RuntimeError(f"the {job_name} run failed")
    metadata = {k: v.value for k, v in materializations[-1].metadata.items()}
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "runs": runs,
        "metadata": metadata,
        "step_seconds": steps,
    }


def step_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Each step's wall seconds in the run, from its start and end events."""
    marks: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.step_key and event.event_type_value in _STEP_EDGES:
            marks.setdefault(event.step_key, []).append(entry.timestamp)
    return {step: round(max(times) - min(times), 1) for step, times in marks.items()}


_STEP_EDGES = ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE")


def time_checks(settings: Settings, start: date, end: date) -> dict[str, float]:
    """The CPU seconds of each query behind the statistics asset's checks, run once more over
    the timed run's days (what the checks cost inside the run)."""
    from warehouse import stats_queries

    with open_warehouse(settings.resolved_warehouse_url) as wh:
        ids = wh.read("SELECT DISTINCT customer_id FROM load_log").column(0).to_pylist()
        queries: dict[str, Callable[[], object]] = {
            "duplicate_keys": lambda: stats_queries.duplicate_keys(wh, start, end),
            "negative_metrics": lambda: stats_queries.negative_metrics(wh, start, end),
            "ratio_mismatches": lambda: stats_queries.ratio_mismatches(wh, start, end),
            "latest_loaded_day": lambda: stats_queries.latest_loaded_day(wh, ids),
            "summary_mismatches": lambda: stats_queries.summary_mismatches(wh, start, end),
        }
        cpu: dict[str, float] = {}
        for name, query in queries.items():
            began = time.process_time()
            query()
            cpu[name] = round(time.process_time() - began, 3)
    return cpu


# --- the load step alone ----------------------------------------------------------------------

_LOAD_TABLE_SQL = """
SELECT f.*, c.name AS campaign_name, g.name AS ad_group_name, a.name AS ad_name
FROM ad_daily_stats AS f
JOIN campaigns AS c ON c.customer_id = f.customer_id AND c.campaign_id = f.campaign_id
JOIN ad_groups AS g ON g.customer_id = f.customer_id AND g.ad_group_id = f.ad_group_id
JOIN ads AS a ON a.customer_id = f.customer_id AND a.ad_type = f.ad_type AND a.ad_id = f.ad_id
WHERE f.customer_id = $customer_id
ORDER BY f.day, f.ad_type, f.ad_id"""


def largest_customer_table(wh: Warehouse) -> tuple[str, pa.Table]:
    """The customer with most rows, and their rows as the table a load receives."""
    counts = wh.read(
        "SELECT customer_id, COUNT(*) AS n FROM ad_daily_stats GROUP BY customer_id "
        "ORDER BY n DESC, customer_id LIMIT 1"
    )
    customer_id = str(counts.column("customer_id")[0].as_py())
    table = wh.read(_LOAD_TABLE_SQL, {"customer_id": customer_id})
    return customer_id, table.select(LOAD_SCHEMA.names).cast(LOAD_SCHEMA)


def time_load_slice(path: Path, customer_id: str, table: pa.Table) -> tuple[float, float]:
    """Seconds of a first ``load_slice`` into a fresh warehouse, then of reloading it."""
    days = table.column("day")
    start_day, end = days[0].as_py(), days[len(days) - 1].as_py()
    timings = []
    with open_warehouse(f"duckdb:///{path}") as wh:
        for _ in range(2):
            began = time.perf_counter()
            wh.load_slice(
                customer_id, start_day, end, table, run_id="bench", fetched_at=datetime.now(UTC)
            )
            timings.append(time.perf_counter() - began)
    return timings[0], timings[1]


def time_raw_insert(path: Path, arrow_table: pa.Table) -> float:
    """Seconds of connect + ``INSERT INTO t SELECT * FROM arrow_table`` + close, keyless ``t``."""
    columns = ", ".join(f"{c.name} {c.sql_type}" for c in LOAD_COLUMNS)
    with duckdb.connect(str(path)) as setup:
        setup.execute(f"CREATE TABLE t ({columns})")
    began = time.perf_counter()
    con = duckdb.connect(str(path))
    con.register("arrow_table", arrow_table)
    con.execute("INSERT INTO t SELECT * FROM arrow_table")
    con.close()
    return time.perf_counter() - began


# --- main ------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    data_dir = folder / "data"
    home = folder / "dagster_home"
    home.mkdir()
    instance_yaml = "telemetry:\n  enabled: false\n"
    if not args.dagster_pg_url:
        instance_yaml += local_storage_yaml(home)  # as the demo's local instance
    else:
        os.environ["BENCH_DAGSTER_PG_URL"] = args.dagster_pg_url
        instance_yaml += (
            "storage:\n  postgres:\n    postgres_url:\n      env: BENCH_DAGSTER_PG_URL\n"
        )
    (home / "dagster.yaml").write_text(instance_yaml)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["ALLEGRO_ADS_DATA_DIR"] = str(data_dir)
    if args.concurrency:
        os.environ["ALLEGRO_ADS_FETCH_CONCURRENCY"] = str(args.concurrency)

    options = {"seed": SEED, "users": max(args.customers, 10)}
    options["redirect_uris"] = (load_settings().redirect_uri,)
    sim = start_bench_simulator(args.simulator, options)
    try:
        os.environ["ALLEGRO_ADS_API_URL"] = os.environ["ALLEGRO_ADS_AUTH_URL"] = sim.base_url
        settings = load_settings()
        upgrade(settings.resolved_control_url)
        began = time.perf_counter()
        connect_customers(settings, sim.base_url, sim.sellers(args.customers))
        say(f"connected {args.customers} customers in {time.perf_counter() - began:.1f}s")
        sim.faults(latency_ms=args.latency_ms)
        end = sim.today() - timedelta(days=1)
        start_day = end - timedelta(days=args.days - 1)
        job_name = "daily_job" if args.daily else "ad_stats_job"
        if args.daily:
            say(f"first {job_name} run over {start_day}..{end}, untimed")
            run_backfill(start_day, end, job_name)
        say(f"one {job_name} run over {start_day}..{end} ({args.days} days)")
        backfill = run_backfill(start_day, end, job_name)
        if args.daily:
            backfill["checks"] = time_checks(settings, start_day, end)
    finally:
        sim.stop()

    meta = backfill["metadata"]
    figures = run_figures(args, backfill)
    say(
        f"run: {backfill['seconds']:.1f}s, {meta['rows']} rows, {meta['api_calls']} API calls, "
        f"{meta['retries']} retries, {meta['customers_failed']} customer(s) failed"
    )
    if args.daily:
        return figures
    with open_warehouse(settings.resolved_warehouse_url) as wh:
        customer_id, table = largest_customer_table(wh)
    load_seconds, reload_seconds = time_load_slice(folder / "load.duckdb", customer_id, table)
    raw_seconds = time_raw_insert(folder / "raw.duckdb", table)
    say(
        f"load step, {table.num_rows} rows of one customer: load_slice {load_seconds:.2f}s "
        f"(reload {reload_seconds:.2f}s), raw insert {raw_seconds:.2f}s"
    )
    return figures | {
        "load_slice_seconds": round(load_seconds, 3),
        "raw_insert_seconds": round(raw_seconds, 3),
        "load_vs_raw_ratio": round(load_seconds / raw_seconds, 2) if raw_seconds else None,
    }


def run_figures(args: argparse.Namespace, backfill: dict[str, Any]) -> dict[str, Any]:
    """The timed run's figures."""
    meta = backfill["metadata"]
    rows = int(meta["rows"])
    seconds = backfill["seconds"]
    cpu = backfill["cpu_seconds"]
    return {
        "job": "daily_job" if args.daily else "ad_stats_job",
        "runs": backfill["runs"],
        "customers": args.customers,
        "days": args.days,
        "api_calls": int(meta["api_calls"]),
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # This process's CPU during the run (the simulator's is not counted): on a shared
        # machine, wall seconds vary with the load, this much less.
        "run_cpu_seconds": round(cpu, 1),
        "run_cpu_us_per_row": round(cpu / rows * 1e6, 2) if rows else None,
        "step_seconds": backfill["step_seconds"],
        "checks_cpu_seconds": backfill.get("checks"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.days is None:
        args.days = 14 if args.daily else 730
    with tempfile.TemporaryDirectory(dir=args.dir, ignore_cleanup_errors=True) as folder:
        figures = run(args, Path(folder))
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
