"""Benchmark: the client's statistics parser alone, CPU per row.

Renders every 31-day window of the last ``--days`` for ``--clients`` simulated clients (the
simulator's own answers, as bytes), then parses each ``--repeat`` times with
``parse_statistics`` in one thread: no HTTP, no other thread competing for the interpreter.

Run: ``.venv/bin/python -m bench.stats_parse [--clients 10 --days 365 --repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date, timedelta

from allegro_resource.stats_parse import parse_statistics
from simulator.data import statistics_json
from simulator.entities import make_users

TODAY = date(2026, 12, 7)
WINDOW_DAYS = 31


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=10, help="simulated clients")
    parser.add_argument("--days", type=int, default=365, help="days, ending yesterday")
    parser.add_argument("--repeat", type=int, default=3, help="passes over every answer")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def _answers(args: argparse.Namespace) -> list[bytes]:
    sellers, _ = make_users(args.seed, args.clients)
    end = TODAY - timedelta(days=1)
    answers = []
    for client in [s.ads_client_id for s in sellers if s.ads_client_id]:
        first = end - timedelta(days=args.days - 1)
        while first <= end:
            last = min(first + timedelta(days=WINDOW_DAYS - 1), end)
            answers.append(statistics_json(client, first, last, TODAY, seed=args.seed))
            first = last + timedelta(days=1)
    return answers


def run(args: argparse.Namespace) -> dict[str, object]:
    """Parse every answer ``repeat`` times; the figures of the median pass."""
    answers = _answers(args)
    parse_statistics(answers[0], ads_client_id="c", endpoint="/statistics", customer_id=None)
    per_row = []
    rows = 0
    for _ in range(args.repeat):
        rows, began = 0, time.process_time()
        for body in answers:
            table = parse_statistics(body, ads_client_id="c", endpoint="/s", customer_id=None)
            rows += table.num_rows
        per_row.append((time.process_time() - began) / rows * 1e6)
    return {
        "clients": args.clients,
        "days": args.days,
        "answers": len(answers),
        "rows": rows,
        "megabytes": round(sum(map(len, answers)) / 1e6, 1),
        "us_per_row_each_pass": [round(x, 3) for x in per_row],
        "us_per_row": round(statistics.median(per_row), 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON line."""
    print(json.dumps(run(parse_args(argv))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
