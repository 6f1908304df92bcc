"""Benchmark: latency of the portal's pages over the 10M+ row bench warehouse.

Uses the bench warehouse of ``testing/portal_data.py`` (building it if missing), a fresh control
store in a temp folder holding the pages' customers (ids as in the warehouse) and an admin,
serves the real WSGI app (``authorize_app.app.create_app``) with waitress, in a child process,
on a free loopback port, signs in through the login form (CSRF token included), then, for each
page of ``--pages`` in turn, fires ``--requests`` GETs of it for ``--customers`` customers over
the last ``--days`` days of data from ``--concurrency`` threads (one ``requests.Session`` each,
with the signed-in cookies). Prints p50/p95/p99/max and errors per page; the last line on
stdout is JSON (a list with ``--pages`` of more than one page).

The portal keeps warehouse answers until a customer in them is loaded again, so repeated
requests of one URL measure it warm. ``--cold`` gives every request its own date range (the
period ends 0, 1, 2, … days before the last loaded day), so none is answered from that cache.

Run: ``.venv/bin/python -m bench.portal [--requests 200 --concurrency 4]``;
``--pages overview,offers --customers 200`` for the overview and offers pages (``ad-types``
too); ``--small`` uses
(and builds in seconds) a 16-customer warehouse instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests

from control_store import users
from services.control import Control
from testing.portal_data import BenchWarehouse, portal_customer_ids
from testing.portal_load import bench_warehouse
from testing.portal_server import (
    REQUEST_TIMEOUT,
    Jar,
    SignInFailed,
    percentile,
    seed_bench_customers,
    serve_portal,
)
from testing.portal_server import sign_in as sign_in_as

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-password-not-secret"  # noqa: S105 - a throwaway store in a temp folder


@dataclass(frozen=True)
class Sample:
    """One timed request: milliseconds and what went wrong (empty if it was a 200)."""

    ms: float
    error: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="timed report requests")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--customers", type=int, default=50, help="customers per report")
    parser.add_argument("--days", type=int, default=90, help="days per report")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--small", action="store_true", help="a 16-customer warehouse")
    parser.add_argument("--dir", type=Path, default=None, help="bench warehouse folder")
    parser.add_argument(
        "--pages",
        default="report",
        help=f"comma-separated, of {', '.join(PAGES)} (each timed in turn)",
    )
    parser.add_argument("--cold", action="store_true", help="a date range of its own per request")
    args = parser.parse_args()
    pages = [page.strip() for page in args.pages.split(",") if page.strip()]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        parser.error(f"unknown page(s) {', '.join(unknown)}; choose from {', '.join(PAGES)}")

    built = bench_warehouse(args.small, args.dir)
    ids = portal_customer_ids(built, args.customers)
    end = built.last_day
    cold = " (cold: one range per request)" if args.cold else ""
    print(
        f"warehouse {built.path}: {built.rows:,} rows; pages {', '.join(pages)}: {len(ids)} "
        f"customers, {args.days} days to {end}{cold}, {args.requests} requests from "
        f"{args.concurrency} threads",
        file=sys.stderr,
    )
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-portal-") as folder,
        portal(Path(folder), built, ids) as base_url,
    ):
        cookies = sign_in(base_url)
        for page in pages:
            urls = [
                page_url(base_url, page, ids, end - timedelta(days=shift), args.days)
                for shift in (range(args.warmup + args.requests) if args.cold else [0])
            ]
            check_page(page, urls[0], cookies)
            for url in urls[: args.warmup]:
                fetch(requests.Session(), url, cookies)
            timed = urls[args.warmup :] if args.cold else urls * args.requests
            server_before = children_cpu_seconds()
            began = time.perf_counter()
            samples = fire(timed, cookies, args.concurrency)
            wall = time.perf_counter() - began
            server_cpu = children_cpu_seconds() - server_before
            results.append(summarise(page, samples, wall, server_cpu, built.rows, args))
    print(json.dumps(results[0] if len(results) == 1 else results))


def summarise(
    page: str,
    samples: list[Sample],
    wall: float,
    server_cpu: float,
    rows: int,
    args: argparse.Namespace,
) -> dict[str, object]:
    """The page's percentiles and the server's CPU per request (printed, and returned for the
    JSON line)."""
    latencies = sorted(sample.ms for sample in samples)
    errors = [sample.error for sample in samples if sample.error]
    result: dict[str, object] = {
        "page": page,
        "customers": args.customers,
        "days": args.days,
        "cold": args.cold,
        "rows_in_warehouse": rows,
        "requests": len(samples),
        "concurrency": args.concurrency,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": len(errors),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, len(samples)), 2),
    }
    print(
        f"{page}: p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  "
        f"p99 {result['p99_ms']} ms  max {latencies[-1]:.1f} ms  errors {len(errors)}  "
        f"throughput {len(samples) / wall:.1f} req/s  "
        f"server CPU {result['server_cpu_ms_per_request']} ms/request"
    )
    for error in sorted(set(errors))[:5]:
        print(f"error: {error}", file=sys.stderr)
    return result


@contextmanager
def portal(folder: Path, built: BenchWarehouse, ids: Sequence[str]) -> Iterator[str]:
    """The real app over a fresh control store in ``folder`` and the bench warehouse, served
    by waitress in a child process (see ``_portal_server.serve_portal``)."""

    def seed(control: Control) -> None:
        seed_control_store(control, built, ids)

    with serve_portal(folder, built.url, seed) as base_url:
        yield base_url


def seed_control_store(control: Control, built: BenchWarehouse, ids: Sequence[str]) -> None:
    """The report's customers, with the warehouse's ids, linked to the bench agency's clients,
    and one admin."""
    seed_bench_customers(control, built, ids)
    users.create_user(control.engine, ADMIN_EMAIL, ADMIN_PASSWORD, "admin")


def sign_in(base_url: str) -> Jar:
    """Sign in as the admin through the login form; the session's cookies."""
    try:
        return sign_in_as(base_url, ADMIN_EMAIL, ADMIN_PASSWORD).cookies
    except SignInFailed as exc:
        raise SystemExit(str(exc)) from None


# Each page's path under the portal, and a piece of markup its answer has when it shows data.
PAGES: dict[str, tuple[str, str]] = {
    "report": ("/portal/reports", "trend-chart"),
    "overview": ("/portal/overview", "overview-customers"),
    "offers": ("/portal/offers", "top-offers"),
    "ad-types": ("/portal/ad-types", "ad-type-panels"),
}


def page_url(base_url: str, page: str, ids: Sequence[str], end: date, days: int) -> str:
    """``page``'s URL for ``ids`` over the ``days`` days ending on ``end``."""
    start = end - timedelta(days=days - 1)
    query = [("from", start.isoformat()), ("to", end.isoformat())]
    query += [("customer", customer_id) for customer_id in ids]
    return f"{base_url}{PAGES[page][0]}?{urlencode(query)}"


def check_page(page: str, url: str, cookies: Jar) -> None:
    """Stop early unless the page answers 200; warn if it shows no data."""
    session = requests.Session()
    session.cookies.update(cookies)
    answer = session.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
    if answer.status_code != 200:
        raise SystemExit(f"{page} answered HTTP {answer.status_code}: {answer.text[:300]}")
    if PAGES[page][1] not in answer.text:
        print(f"warning: the {page} page lacks {PAGES[page][1]!r}", file=sys.stderr)
    elif ">no data<" in answer.text:
        print(f"warning: the {page} page's chart says no data", file=sys.stderr)
    print(f"{page} page: {len(answer.content):,} bytes", file=sys.stderr)


def children_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process's children, the server among
    them: the steadier figure on a shared machine, where latency follows the other jobs.
    Read from Linux's /proc; 0 elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After the command's closing parenthesis: state, ppid, …; utime and stime are the
            # 12th and 13th fields from there.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # a process that ended meanwhile
        if int(fields[1]) == os.getpid():
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def fetch(session: requests.Session, url: str, cookies: Jar) -> Sample:
    """One timed GET; anything but a 200 is an error."""
    session.cookies.update(cookies)
    began = time.perf_counter()
    try:
        answer = session.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
        answer.content  # noqa: B018 - the whole body is part of the latency
    except requests.RequestException as exc:
        return Sample((time.perf_counter() - began) * 1000, f"{type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - began) * 1000
    return Sample(ms, "" if answer.status_code == 200 else f"HTTP {answer.status_code}")


def fire(urls: Sequence[str], cookies: Jar, concurrency: int) -> list[Sample]:
    """A timed GET of each of ``urls`` from ``concurrency`` threads, a session per thread."""
    local = threading.local()

    def one(url: str) -> Sample:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        return fetch(session, url, cookies)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, urls))


if __name__ == "__main__":
    main()
