"""Benchmark: token refresh under load, 16 worker processes, the agency token and 50 sales
tokens over a simulated day.

Starts the simulator (12-hour access tokens, its default), connects the agency account (device
flow) and ``--customers`` customers (adopted from the agency's client list, each authorising
its sales account through the real consent flow) into a fresh control store (SQLite in a temp
folder, or a throw-away PostgreSQL database with ``--postgres``), then runs ``--workers``
processes that every ``--step-minutes`` of simulated time for ``--hours`` read statistics with
the agency token and ``/me`` and offers with every sales token, through the production
``TokenManager`` (``testing.refresh_load``; a quarter of the workers' clocks lag Allegro's by
up to ``3 x --lag-step`` seconds). Prints the refreshes Allegro saw against the minimum,
``invalid_grant`` and 401 answers, API calls and wall time; the last line on stdout is JSON.

Run: ``.venv/bin/python -m bench.refresh_load [--workers 16 --customers 50 --postgres]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testing.bench_simulator import start_bench_simulator

# The tests' throw-away PostgreSQL helper (ALLEGRO_ADS_TEST_POSTGRES_URL, default 127.0.0.1).
from testing.postgres_databases import temporary_database
from testing.refresh_load import LoadPlan, RefreshLoadResult, run_refresh_load


@contextmanager
def control_store(folder: Path, postgres: bool) -> Iterator[str]:
    """The URL of an empty control store: SQLite in ``folder``, or a throw-away PostgreSQL."""
    if not postgres:
        yield f"sqlite:///{folder / 'control.db'}"
        return
    with temporary_database("aam_bench") as url:
        yield url


def report(result: RefreshLoadResult) -> None:
    """The figures, one per line (the JSON line follows)."""
    figures: list[tuple[str, Any]] = [
        ("control store", result.store),
        ("workers (processes)", result.workers),
        ("customers", result.customers),
        ("accounts refreshed", f"{result.accounts} (1 agency + {result.customers} sales)"),
        ("workers' clocks lag up to", f"{result.max_lag_seconds} s"),
        ("simulated hours", f"{result.simulated_hours:g} ({result.rounds} rounds)"),
        ("access token lifetime", f"{result.access_ttl_seconds} s"),
        ("refreshes (Allegro's count)", result.refreshes),
        ("minimum refreshes", result.minimum_refreshes),
        ("  because", result.minimum_arithmetic),
        ("refreshes in the grace", result.refreshes_in_grace),
        ("invalid_grant answers", result.invalid_grant),
        ("401 answers (re-read)", result.unauthorized),
        ("API calls ok / expected", f"{result.api_calls} / {result.api_calls_expected}"),
        ("  statistics / offers", f"{result.statistics_calls} / {result.offers_calls}"),
        ("API failures", result.api_failures),
        ("consent of all customers", f"{result.connect_seconds} s"),
        ("rounds", f"{result.rounds_seconds} s"),
        ("wall time", f"{result.wall_seconds} s"),
    ]
    for name, value in figures:
        print(f"{name:<28} {value}")
    for error in result.errors[:5]:
        print(f"error: {error}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16, help="worker processes")
    parser.add_argument("--customers", type=int, default=50, help="connected customers")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument("--step-minutes", type=int, default=60, help="simulated time per round")
    parser.add_argument(
        "--stats-every", type=int, default=25, help="statistics + offers every N customers"
    )
    parser.add_argument(
        "--lag-step", type=int, default=400, help="clock group g lags g x this (seconds)"
    )
    parser.add_argument("--postgres", action="store_true", help="control store on PostgreSQL")
    parser.add_argument(
        "--simulator", choices=("thread", "process"), default="process", help="where it runs"
    )
    args = parser.parse_args()
    plan = LoadPlan(
        workers=args.workers,
        customers=args.customers,
        hours=args.hours,
        step_seconds=args.step_minutes * 60,
        stats_every=args.stats_every,
        lag_step_seconds=args.lag_step,
    )
    simulator = start_bench_simulator(args.simulator, {"users": args.customers})
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-refresh-load-") as folder,
            control_store(Path(folder), args.postgres) as control_url,
        ):
            result = run_refresh_load(control_url, simulator.base_url, plan, Path(folder))
    finally:
        simulator.stop()
    report(result)
    print(json.dumps(result.to_json()))
    if result.refreshes != result.minimum_refreshes or result.invalid_grant or result.api_failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
