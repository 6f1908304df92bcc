"""Profile: where one portal page's time goes (queries, template, chart), in-process.

Builds (or reuses) the bench warehouse of ``testing/portal_data.py``, seeds a fresh control store
in a temp folder with the page's customers and an admin, signs in through the login form, then
requests ``--page`` (the stored report by default; or overview, offers, ad-types) for
``--customers`` customers over the last ``--days`` days (or any ``--path``) ``--repeat`` times
in this process under Python's profiler, after one warm-up. Prints milliseconds per request in
each stage the portal's code is made of (every warehouse query, the chart, the template), then
the top functions by own CPU.

Run: ``.venv/bin/python -m bench.portal_profile [--customers 50 --days 90 --repeat 10]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.test import Client

from authorize_app.app import create_app
from bench.portal import PAGES
from control_store import users
from control_store.database import upgrade
from services.control import open_control
from settings.config import Settings
from testing.portal_data import portal_customer_ids
from testing.portal_load import bench_warehouse
from testing.portal_server import seed_bench_customers

EMAIL = "profile-admin@example.com"
PASSWORD = "profile-password-not-secret"  # noqa: S105 - a throwaway store in a temp folder
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# The stages a page is made of: (label, module path fragment, function name).
STAGES = (
    ("warehouse queries (all)", "warehouse/", "read"),
    ("template rendering", "authorize_app/web.py", "render"),
    ("trend chart (SVG)", "authorize_app/charts.py", "small_multiples_svg"),
    ("opening the warehouse", "warehouse/duckdb_readers.py", "open"),
    ("control store (scope, session)", "authorize_app/portal/scope.py", "customers"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=10, help="profiled requests")
    parser.add_argument("--page", default="report", choices=sorted(PAGES), help="which page")
    parser.add_argument("--path", default="", help="a portal path instead of --page")
    parser.add_argument("--top", type=int, default=15, help="functions listed by own CPU")
    parser.add_argument("--small", action="store_true", help="the 16-customer warehouse")
    args = parser.parse_args()

    built = bench_warehouse(args.small, None)
    ids = portal_customer_ids(built, args.customers)
    end = built.last_day
    start = end - timedelta(days=args.days - 1)
    query = urlencode([("from", start), ("to", end), *(("customer", i) for i in ids)])
    path = args.path or f"{PAGES[args.page][0]}?{query}"
    with tempfile.TemporaryDirectory(prefix="bench-portal-profile-") as folder:
        data = Path(folder)
        control_url = f"sqlite:///{data / 'control.db'}"
        upgrade(control_url)
        settings = Settings(data_dir=data, control_url=control_url, warehouse_url=built.url)
        with open_control(settings) as control:
            seed_bench_customers(control, built, ids)
            users.create_user(control.engine, EMAIL, PASSWORD, "admin")
        client = Client(create_app(settings))
        sign_in(client)
        first = client.get(path)
        if first.status_code != 200:
            raise SystemExit(f"{path} answered {first.status_code}: {first.text[:300]}")
        print(f"{path[:80]}…: {len(first.data):,} bytes", file=sys.stderr)
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        for _ in range(args.repeat):
            client.get(path)
        profiler.disable()
        wall = (time.perf_counter() - began) * 1000 / args.repeat
    report(pstats.Stats(profiler), args.repeat, wall, args.top)


def sign_in(client: Client) -> None:
    form = client.get("/portal/login")
    token = CSRF.search(form.text)
    if token is None:
        raise SystemExit("the login form has no CSRF token")
    done = client.post(
        "/portal/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token[1]}
    )
    if done.status_code != 303:
        raise SystemExit(f"sign-in answered {done.status_code}")


def report(stats: pstats.Stats, repeat: int, wall_ms: float, top: int) -> None:
    """Per request: wall time, each query function's cumulative time, the stages, the top
    functions by own time."""
    # {(file, line, name): (primitive calls, calls, own time, cumulative time, callers)}
    entries = stats.stats  # type: ignore[attr-defined]
    print(f"wall per request: {wall_ms:.1f} ms (in-process, one at a time)")
    print("queries (cumulative ms per request):")
    for (file, _line, name), (_cc, calls, _tt, cumulative, _callers) in sorted(
        entries.items(), key=lambda item: -item[1][3]
    ):
        public = name[0] not in "_<"
        if public and "warehouse/" in file and file.endswith("_queries.py"):
            per_request = cumulative * 1000 / repeat
            print(f"  {name:32s} {per_request:8.1f} ms  ({calls // repeat} call/req)")
    print("stages (cumulative ms per request):")
    for label, fragment, function in STAGES:
        total = sum(
            value[3]
            for (file, _line, name), value in entries.items()
            if fragment in file and name == function
        )
        print(f"  {label:32s} {total * 1000 / repeat:8.1f} ms")
    print(f"top {top} functions by own time (ms per request):")
    ranked = sorted(entries.items(), key=lambda item: -item[1][2])[:top]
    for (file, line, name), (_cc, calls, own, _ct, _callers) in ranked:
        where = f"{Path(file).name}:{line}" if line else file
        print(f"  {own * 1000 / repeat:8.1f} ms  {calls // repeat:>7} calls  {name}  ({where})")


if __name__ == "__main__":
    main()
