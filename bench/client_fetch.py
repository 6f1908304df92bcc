"""Benchmark: fetch a date range for many customers through the real client and a simulator.

Starts a simulator (in this process by default; ``--simulator process`` serves it from a
child process so it does not share the GIL with the client), connects the agency account
(device flow over HTTP), switches on a per-request latency, fetches every seller's statistics
with the agency token through ``fetch_statistics_many`` and prints one JSON line with the
figures.

Run: ``.venv/bin/python -m bench.client_fetch [--clients 50 --days 365 ...]``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import date, timedelta
from typing import Any

from tqdm import tqdm

from allegro_resource.ads_client import AllegroAdsClient, StatsJob, StatsResult
from allegro_resource.stats_parse import parse_statistics
from allegro_resource.token_provider import TokenProvider
from settings.defaults import MAX_RANGE_DAYS
from testing.bench_simulator import (
    AGENCY_ACCOUNT_ID,
    BenchSimulator,
    consented_provider,
    start_bench_simulator,
)
from testing.memory_call_log import MemoryCallLog


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="sellers to fetch")
    parser.add_argument("--days", type=int, default=365, help="days, ending yesterday")
    parser.add_argument("--latency-ms", type=int, default=30, help="simulated latency per call")
    parser.add_argument("--concurrency", type=int, default=8, help="customers fetched at once")
    parser.add_argument("--max-range-days", type=int, default=MAX_RANGE_DAYS)
    parser.add_argument("--seed", type=int, default=None, help="simulator seed")
    parser.add_argument(
        "--simulator",
        choices=("thread", "process"),
        default="thread",
        help="serve the simulator in this process (thread) or in a child process",
    )
    return parser.parse_args(argv)


# --- the simulator, in this process or a child ------------------------------------------


def _config_options(args: argparse.Namespace) -> dict[str, Any]:
    """At least as many sellers as clients, and no rate limit in the way."""
    options: dict[str, Any] = {"users": args.clients, "rate_limit_per_minute": 1_000_000}
    if args.seed is not None:
        options["seed"] = args.seed
    return options


def start(args: argparse.Namespace) -> BenchSimulator:
    """Start the simulator the way ``--simulator`` asks."""
    return start_bench_simulator(args.simulator, _config_options(args))


# --- the run ------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, object]:
    """Run the benchmark once and return its figures."""
    sim = start(args)
    try:
        sellers = sim.sellers(args.clients)
        # Statistics are read with the agency account's token (device flow), for every seller.
        provider = consented_provider(sim.base_url, [], agency=True)
        sim.faults(latency_ms=args.latency_ms)
        jobs = [StatsJob(u["login"], AGENCY_ACCOUNT_ID, u["ads_client_id"]) for u in sellers]
        today = sim.today()
        end = today - timedelta(days=1)
        return _fetch(args, sim.base_url, provider, jobs, end - timedelta(days=args.days - 1), end)
    finally:
        sim.stop()


def _fetch(
    args: argparse.Namespace,
    base_url: str,
    provider: TokenProvider,
    jobs: list[StatsJob],
    start_day: date,
    end: date,
) -> dict[str, object]:
    log = MemoryCallLog()
    client = AllegroAdsClient(
        base_url,
        provider,
        log,
        concurrency=args.concurrency,
        max_range_days=args.max_range_days,
        today=lambda: end + timedelta(days=1),
        run_id="bench",
    )
    warm_up_cpu = _warm_up()
    with client, tqdm(total=len(jobs), unit="client", file=sys.stderr) as bar:
        began, cpu_began = time.perf_counter(), time.process_time()
        results = client.fetch_statistics_many(
            jobs, start_day, end, on_result=lambda _: bar.update(1)
        )
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    return _figures(args, results, log, seconds) | {
        "process_cpu_seconds": round(cpu, 1),
        "us_cpu_per_row": round(cpu / max(1, sum(r.table.num_rows for r in results)) * 1e6, 2),
        "warm_up_cpu_seconds": round(warm_up_cpu, 2),
    }


_DAY = {
    "views": 10,
    "clicks": 1,
    "interest": 0,
    "totalCost": "0.50",
    "ctr": "0.1000",
    "totalAttributionCount": 0,
    "totalAttributionValue": "0.00",
    "rateOfReturn": "0.00",
}
_AD = {"campaign": {"id": "c", "name": "c"}, "adGroup": {"id": "g", "name": "g"}}
WARM_UP_ANSWER = json.dumps(
    {
        "sponsoredOffers": [
            _AD
            | {
                "ad": {"id": "a", "name": "a", "offerId": "1"},
                "dayData": [{"day": "2026-01-01", "data": _DAY | {"effectiveCpc": "0.50"}}],
            }
        ],
        "graphicAds": [
            _AD
            | {
                "ad": {"id": "b", "name": "b"},
                "dayData": [
                    {
                        "day": "2026-01-01",
                        "data": _DAY
                        | {
                            "effectiveCpm": "50.00",
                            "uniqueReach": 9,
                            "attributedToCoreValue": "0.00",
                        },
                    }
                ],
            }
        ],
    }
).encode()


def _warm_up() -> float:
    """Parse one small answer before the clock starts; its CPU seconds.

    The first Arrow conversion of a Python object makes pyarrow import pandas (~1.5 s of CPU
    here), once per process: a start-up cost, not a cost per row, and the run's eight threads
    would otherwise pay it inside the timed fetch."""
    began = time.process_time()
    parse_statistics(WARM_UP_ANSWER, ads_client_id="c", endpoint="/warm-up", customer_id=None)
    return time.process_time() - began


def _figures(
    args: argparse.Namespace, results: list[StatsResult], log: MemoryCallLog, seconds: float
) -> dict[str, object]:
    failed = [r for r in results if r.error is not None]
    for result in failed:
        print(f"failed: {result.customer_id}: {result.error}", file=sys.stderr)
    calls = log.snapshot()
    rows = sum(r.table.num_rows for r in results)
    return {
        "clients": args.clients,
        "days": args.days,
        "api_calls": len(calls),
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "lower_bound_calls": args.clients * math.ceil(args.days / args.max_range_days),
        "ideal_seconds": round(len(calls) * args.latency_ms / 1000 / args.concurrency, 3),
        "mean_call_ms": round(sum(c.duration_ms for c in calls) / len(calls)) if calls else None,
        "failed_clients": len(failed),
        "simulator": args.simulator,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line; exit 1 if any client failed."""
    figures = run(parse_args(argv))
    print(json.dumps(figures), flush=True)
    return 1 if figures["failed_clients"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
