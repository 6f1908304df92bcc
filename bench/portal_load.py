"""Benchmark: 20 staff users at once on the portal (stored report, CSV and Parquet exports, the
connections board, the API log) for 60 s against the production WSGI server.

Serves the real app with waitress in a child process (``testing.portal_server.serve_portal``)
over a fresh
control store holding the bench warehouse's customers in four portfolios, signs in ``--users``
accounts through the login form (``--admins`` admins, the rest viewers of one portfolio each, a
session each), then every user requests a weighted mix of pages back to back for ``--seconds``.
Every answer is checked: HTTP 200, the right kind of body, and no customer outside the user's
scope (customer ids in pages, every row of every export). Prints per kind count, errors and
p50/p95/p99/max; the last line on stdout is JSON.

Run: ``.venv/bin/python -m bench.portal_load [--seconds 60 --users 20 --admins 5]``; ``--small``
uses (and builds in seconds) a 16-customer warehouse instead of ``testing/portal_data.py``'s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from testing.portal_load import (
    PORTFOLIOS,
    bench_warehouse,
    load_portal,
    plan_scenario,
    print_summary,
    run_portal_load,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the users work")
    parser.add_argument("--users", type=int, default=20, help="signed-in users at once")
    parser.add_argument("--admins", type=int, default=5, help="of which admins")
    parser.add_argument("--customers", type=int, default=100, help="customers in the portal")
    parser.add_argument("--days", type=int, default=90, help="days per report and export")
    parser.add_argument("--small", action="store_true", help="a 16-customer warehouse")
    parser.add_argument("--dir", type=Path, default=None, help="bench warehouse folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the users' choices")
    args = parser.parse_args()
    if not 0 <= args.admins <= args.users:
        parser.error("--admins must be between 0 and --users")

    built = bench_warehouse(args.small, args.dir)
    scenario = plan_scenario(
        built, users=args.users, admins=args.admins, customers=args.customers, days=args.days
    )
    print(
        f"warehouse {built.path}: {built.rows:,} rows; {len(scenario.customer_ids)} customers "
        f"in {PORTFOLIOS} portfolios; {args.users} users ({args.admins} admins); "
        f"{scenario.start}..{scenario.end}; {args.seconds:g} s",
        file=sys.stderr,
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-portal-load-") as folder,
        load_portal(Path(folder), built, scenario) as base_url,
    ):
        result = run_portal_load(base_url, scenario, seconds=args.seconds, seed=args.seed)
    summary = {
        "warehouse": "small" if args.small else "bench",
        "rows_in_warehouse": built.rows,
        "customers": len(scenario.customer_ids),
        "days": (scenario.end - scenario.start).days + 1,
        **result.summary(),
    }
    print_summary(summary)
    for error in sorted({sample.error for sample in result.errors})[:5]:
        print(f"error: {error}", file=sys.stderr)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
