"""Benchmark: the simulator's rendering of statistics answers, CPU per row.

Renders every 31-day window of a year for many simulated clients, as ``bench.client_fetch``
asks for them, once computed and rendered (``statistics_json``) and once more through
``served_statistics_json`` right after (the rendered-window memory a retry or a repeated request
hits). No HTTP: only the simulator's own work for the statistics endpoint.

Run: ``.venv/bin/python -m bench.sim_render [--clients 50 --days 365]``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta

from simulator.data import RENDERED, served_statistics_json, statistics_json
from simulator.entities import make_users

TODAY = date(2026, 12, 7)
WINDOW_DAYS = 31


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="simulated clients")
    parser.add_argument("--days", type=int, default=365, help="days, ending yesterday")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def _client_ids(seed: int, count: int) -> list[str]:
    """The ads client ids of the simulator's first ``count`` sellers."""
    sellers, _ = make_users(seed, count)
    return [s.ads_client_id for s in sellers if s.ads_client_id]


def _windows(days: int) -> list[tuple[date, date]]:
    end = TODAY - timedelta(days=1)
    first = end - timedelta(days=days - 1)
    windows = []
    while first <= end:
        last = min(first + timedelta(days=WINDOW_DAYS - 1), end)
        windows.append((first, last))
        first = last + timedelta(days=1)
    return windows


def run(args: argparse.Namespace) -> dict[str, object]:
    """Render every window twice and return the figures."""
    clients, windows = _client_ids(args.seed, args.clients), _windows(args.days)
    statistics_json(clients[0], *windows[-1], TODAY, seed=args.seed)  # warm-up: imports
    RENDERED.clear()
    rows = body_bytes = 0
    rendered_cpu = repeated_cpu = 0.0
    for client in clients:
        for start, end in windows:
            began = time.process_time()
            body = statistics_json(client, start, end, TODAY, seed=args.seed)
            rendered_cpu += time.process_time() - began
            rows += body.count(b'"day":')
            body_bytes += len(body)
            served_statistics_json(client, start, end, TODAY, seed=args.seed)  # keeps it
            began = time.process_time()
            again = served_statistics_json(client, start, end, TODAY, seed=args.seed)
            repeated_cpu += time.process_time() - began
            assert again == body
    return {
        "clients": args.clients,
        "days": args.days,
        "windows": len(clients) * len(windows),
        "rows": rows,
        "megabytes": round(body_bytes / 1e6, 1),
        "render_cpu_seconds": round(rendered_cpu, 2),
        "render_us_per_row": round(rendered_cpu / rows * 1e6, 3) if rows else None,
        "repeated_us_per_row": round(repeated_cpu / rows * 1e6, 4) if rows else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line."""
    print(json.dumps(run(parse_args(argv))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
