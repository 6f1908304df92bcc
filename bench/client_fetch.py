"""Benchmark: fetch a date range for many customers through the real client and a simulator.

Starts a simulator in-process, consents one token per seller over HTTP, switches on a
per-request latency, fetches every seller's statistics with ``fetch_statistics_many`` and
prints one JSON line with the figures. Run: ``.venv/bin/python bench/client_fetch.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sim_session import consented_provider  # noqa: E402

from allegro_resource.ads_client import AllegroAdsClient, StatsJob, StatsResult  # noqa: E402
from allegro_resource.calllog import MemoryCallLog  # noqa: E402
from allegro_resource.simulator.server import RunningSimulator, start_simulator  # noqa: E402
from allegro_resource.simulator.state import SimulatorConfig  # noqa: E402
from allegro_resource.windows import DEFAULT_MAX_RANGE_DAYS, reporting_today  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="sellers to fetch")
    parser.add_argument("--days", type=int, default=365, help="days ending yesterday")
    parser.add_argument("--latency-ms", type=int, default=30, help="simulated latency")
    parser.add_argument("--concurrency", type=int, default=8, help="customers at once")
    parser.add_argument("--max-range-days", type=int, default=DEFAULT_MAX_RANGE_DAYS)
    parser.add_argument("--seed", type=int, default=None, help="simulator seed")
    return parser.parse_args(argv)


def start(args: argparse.Namespace) -> RunningSimulator:
    """A simulator with at least as many sellers as clients and no rate limit in the way."""
    options: dict[str, object] = {"users": args.clients, "rate_limit_per_minute": 1_000_000}
    if args.seed is not None:
        options["seed"] = args.seed
    return start_simulator(SimulatorConfig(**options))  # type: ignore[arg-type]


def sim_today(sim: RunningSimulator) -> date:
    """The simulator's today, so both sides agree on yesterday."""
    today = getattr(getattr(sim, "config", None), "today", None)
    return today if isinstance(today, date) else reporting_today()


def run(args: argparse.Namespace) -> dict[str, object]:
    """Run the benchmark once and return its figures."""
    sim = start(args)
    try:
        sellers = [u for u in sim.users() if _get(u, "login") != "agency"][: args.clients]
        logins = [str(_get(u, "login")) for u in sellers]
        provider = consented_provider(sim.base_url, logins)
        sim.faults(latency_ms=args.latency_ms)
        jobs = [StatsJob(str(_get(u, "login")), str(_get(u, "ads_client_id"))) for u in sellers]
        end = sim_today(sim) - timedelta(days=1)
        start_day = end - timedelta(days=args.days - 1)
        return _fetch(args, sim, provider, jobs, start_day, end)
    finally:
        sim.stop()


def _fetch(
    args: argparse.Namespace,
    sim: RunningSimulator,
    provider: object,
    jobs: list[StatsJob],
    start_day: date,
    end: date,
) -> dict[str, object]:
    log = MemoryCallLog()
    client = AllegroAdsClient(
        sim.base_url,
        provider,  # type: ignore[arg-type]
        log,
        concurrency=args.concurrency,
        max_range_days=args.max_range_days,
        today=lambda: sim_today(sim),
        run_id="bench",
    )
    with client, tqdm(total=len(jobs), unit="client", file=sys.stderr) as bar:
        began = time.perf_counter()
        results = client.fetch_statistics_many(
            jobs, start_day, end, on_result=lambda _: bar.update(1)
        )
        seconds = time.perf_counter() - began
    return _figures(args, results, log, seconds)


def _figures(
    args: argparse.Namespace, results: list[StatsResult], log: MemoryCallLog, seconds: float
) -> dict[str, object]:
    failed = [r for r in results if r.error is not None]
    for result in failed:
        print(f"failed: {result.customer_id}: {result.error}", file=sys.stderr)
    rows = sum(len(r.rows) for r in results)
    calls = len(log.snapshot())
    lower_bound = args.clients * math.ceil(args.days / args.max_range_days)
    return {
        "clients": args.clients,
        "days": args.days,
        "api_calls": calls,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "lower_bound_calls": lower_bound,
        "ideal_seconds": round(calls * args.latency_ms / 1000 / args.concurrency, 3),
        "failed_clients": len(failed),
    }


def _get(user: object, name: str) -> object:
    return user.get(name) if isinstance(user, dict) else getattr(user, name, None)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line; non-zero exit if any client failed."""
    figures = run(parse_args(argv))
    print(json.dumps(figures))
    return 1 if figures["failed_clients"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
