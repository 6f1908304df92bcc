"""The portal load: staff users at once on the real portal under waitress, every answer
checked for status, body kind and scope (the benchmark ``bench/portal_load.py`` and
``tests/load`` run the same functions)."""

from __future__ import annotations

import csv
import io
import random
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyarrow.parquet as pq
import requests

from control_store import portfolios, users
from services.control import Control
from testing.portal_data import (
    DEFAULT_DIR,
    BenchWarehouse,
    ensure_bench_warehouse,
    portal_customer_ids,
)
from testing.portal_server import (
    REQUEST_TIMEOUT,
    percentile,
    seed_bench_customers,
    serve_portal,
    sign_in,
    use_cheap_password_hashing,
)

KINDS = ("report", "csv", "parquet", "board", "api_log")
# Reports are what staff open most; each export is a click from a report; the board is checked
# a few times a day; the API log when something failed.
MIX: dict[str, int] = {"report": 4, "csv": 2, "parquet": 2, "board": 2, "api_log": 1}
PORTFOLIOS = 4
PASSWORD = "load-password-not-secret"
CUSTOMER_ID = re.compile(r"c_bench_\d{3}")  # the bench warehouse's customer ids
SMALL_DIR = Path(__file__).resolve().parent.parent / "data" / "bench" / "portal-small"
SMALL_CUSTOMERS = 16
SMALL_DAYS = 30


@dataclass(frozen=True)
class LoadUser:
    """A signed-in staff member: what their reports ask for and which customers they may see."""

    email: str
    is_admin: bool
    asks: tuple[str, ...]  # the report's customer filter; empty = every customer in scope
    scope: frozenset[str]
    portfolio: str | None = None


@dataclass(frozen=True)
class Scenario:
    """Who uses the portal, over which customers, portfolios and dates."""

    users: list[LoadUser]
    customer_ids: list[str]
    portfolio_of: dict[str, str]
    start: date
    end: date


@dataclass(frozen=True)
class Sample:
    """One timed request and what was wrong with its answer (empty if nothing)."""

    kind: str
    user: str
    ms: float
    error: str = ""
    leak: bool = False
    rows_checked: int = 0  # export rows whose customer was checked against the user's scope


@dataclass
class LoadResult:
    """Every sample of a run and the run's wall seconds."""

    samples: list[Sample]
    seconds: float
    users: list[LoadUser] = field(default_factory=list)

    def of(self, kind: str) -> list[Sample]:
        return [sample for sample in self.samples if sample.kind == kind]

    @property
    def errors(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.error]

    def summary(self) -> dict[str, Any]:
        """Counts and latency percentiles, overall and per kind (JSON-ready)."""
        return {
            "users": len(self.users),
            "admins": sum(1 for user in self.users if user.is_admin),
            "seconds": round(self.seconds, 1),
            **_figures(self.samples),
            "throughput_rps": round(len(self.samples) / self.seconds, 1) if self.seconds else 0,
            "leaks": sum(1 for sample in self.samples if sample.leak),
            "export_rows_checked": sum(sample.rows_checked for sample in self.samples),
            "kinds": {kind: _figures(self.of(kind)) for kind in KINDS},
        }


def _figures(samples: Sequence[Sample]) -> dict[str, Any]:
    latencies = sorted(sample.ms for sample in samples)
    return {
        "requests": len(samples),
        "errors": sum(1 for sample in samples if sample.error),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else float("nan"),
    }


# --- the scenario -------------------------------------------------------------------------------


def plan_scenario(
    built: BenchWarehouse,
    *,
    users: int = 20,
    admins: int = 5,
    customers: int = 100,
    report_customers: int = 50,
    days: int = 90,
) -> Scenario:
    """``customers`` of the warehouse in four interleaved portfolios; admins report on every
    other one (at most ``report_customers``), each viewer on one portfolio; the last ``days``."""
    ids = portal_customer_ids(built, min(customers, len(built.customer_ids)))
    portfolio_of = {cid: _portfolio_name(i) for i, cid in enumerate(ids)}
    report = tuple(ids[::2][:report_customers])
    accounts = [
        LoadUser(f"admin{i:02d}@load.example", True, report, frozenset(ids)) for i in range(admins)
    ]
    for j in range(users - admins):
        name = _portfolio_name(j)
        scope = frozenset(cid for cid, portfolio in portfolio_of.items() if portfolio == name)
        accounts.append(LoadUser(f"viewer{j:02d}@load.example", False, (), scope, name))
    end = built.last_day
    start = max(date.fromisoformat(built.start), end - timedelta(days=days - 1))
    return Scenario(accounts, ids, portfolio_of, start, end)


def _portfolio_name(index: int) -> str:
    return f"Portfolio {index % PORTFOLIOS + 1}"


def seed_scenario(control: Control, built: BenchWarehouse, scenario: Scenario) -> None:
    """Portfolios, the customers in them (linked to the bench agency's clients), the accounts
    and the viewers' grants."""
    engine = control.engine
    for name in sorted(set(scenario.portfolio_of.values())):
        portfolios.create_portfolio(engine, name)
    seed_bench_customers(control, built, scenario.customer_ids, scenario.portfolio_of)
    for user in scenario.users:
        users.create_user(engine, user.email, PASSWORD, "admin" if user.is_admin else "viewer")
        if user.portfolio is not None:
            portfolios.grant(engine, user.email, user.portfolio)


@contextmanager
def load_portal(
    folder: Path, built: BenchWarehouse, scenario: Scenario, *, cheap_passwords: bool = False
) -> Iterator[str]:
    """The real app over ``scenario``'s control store in ``folder``; its base URL."""

    def seed(control: Control) -> None:
        if cheap_passwords:  # hashes made here at the cost the server verifies them with
            use_cheap_password_hashing()
        seed_scenario(control, built, scenario)

    with serve_portal(folder, built.url, seed, cheap_passwords=cheap_passwords) as base_url:
        yield base_url


# --- one request --------------------------------------------------------------------------------


def request_url(base_url: str, kind: str, user: LoadUser, start: date, end: date) -> str:
    """The URL a ``kind`` request of ``user`` goes to."""
    portal = f"{base_url}/portal"
    if kind == "board":
        return f"{portal}/connections"
    if kind == "api_log":
        return f"{portal}/api-log"
    query = [("from", start.isoformat()), ("to", end.isoformat())]
    query += [("customer", customer_id) for customer_id in user.asks]
    if kind == "report":
        return f"{portal}/reports?{urlencode(query)}"
    return f"{portal}/reports/export?{urlencode([*query, ('format', kind)])}"


def timed_request(session: requests.Session, kind: str, url: str, user: LoadUser) -> Sample:
    """GET ``url``; the whole body is part of the latency, the checks afterwards are not."""
    began = time.perf_counter()
    try:
        answer = session.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
        body = answer.content
    except requests.RequestException as exc:
        ms = (time.perf_counter() - began) * 1000
        return Sample(kind, user.email, ms, f"{type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - began) * 1000
    if answer.status_code != 200:
        return Sample(kind, user.email, ms, f"{kind}: HTTP {answer.status_code}")
    try:
        seen = customers_in(kind, body)
    except Exception as exc:  # an export that does not parse is an error like any other
        error = f"{kind}: unreadable body ({type(exc).__name__}: {exc})"
        return Sample(kind, user.email, ms, error)
    return judge_answer(kind, ms, user, seen)


def customers_in(kind: str, body: bytes) -> list[str]:
    """Customer ids the answer carries: one per export row, every id mentioned in a page."""
    if kind == "csv":
        return [row["customer_id"] for row in csv.DictReader(io.StringIO(body.decode("utf-8")))]
    if kind == "parquet":
        column = pq.read_table(io.BytesIO(body), columns=["customer_id"]).column("customer_id")
        return [str(value) for value in column.to_pylist()]
    return CUSTOMER_ID.findall(body.decode("utf-8"))


def judge_answer(kind: str, ms: float, user: LoadUser, seen: list[str]) -> Sample:
    """An error when the answer names a customer the user may not see, or an export is empty."""
    allowed = set(user.asks or user.scope) if kind in ("csv", "parquet") else user.scope
    foreign = sorted(set(seen) - allowed)
    rows = len(seen) if kind in ("csv", "parquet") else 0
    if foreign:
        error = f"{kind}: {user.email} received {foreign[:3]}"
        return Sample(kind, user.email, ms, error, True, rows)
    if kind in ("csv", "parquet") and not seen:
        error = f"{kind}: the export for {user.email} has no rows"
        return Sample(kind, user.email, ms, error, False, rows)
    return Sample(kind, user.email, ms, rows_checked=rows)


# --- the load -----------------------------------------------------------------------------------


def sign_in_all(base_url: str, accounts: Sequence[LoadUser]) -> list[requests.Session]:
    """One signed-in session per account, in order (four sign-ins at a time)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda user: sign_in(base_url, user.email, PASSWORD), accounts))


def warm_up(base_url: str, scenario: Scenario, sessions: Sequence[requests.Session]) -> list[str]:
    """Each kind once for the first admin and the first viewer, untimed; their errors."""
    errors = []
    firsts: dict[bool, int] = {}
    for index, user in enumerate(scenario.users):
        firsts.setdefault(user.is_admin, index)
    for index in firsts.values():
        user = scenario.users[index]
        for kind in KINDS:
            url = request_url(base_url, kind, user, scenario.start, scenario.end)
            sample = timed_request(sessions[index], kind, url, user)
            if sample.error:
                errors.append(sample.error)
    return errors


def user_loop(
    base_url: str,
    scenario: Scenario,
    user: LoadUser,
    session: requests.Session,
    deadline: float,
    rng: random.Random,
    mix: Mapping[str, int],
) -> list[Sample]:
    """Requests of ``user`` back to back, kinds drawn by weight, until ``deadline``."""
    kinds, weights = list(mix), list(mix.values())
    samples = []
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        url = request_url(base_url, kind, user, scenario.start, scenario.end)
        samples.append(timed_request(session, kind, url, user))
    return samples


def run_portal_load(
    base_url: str,
    scenario: Scenario,
    *,
    seconds: float,
    mix: Mapping[str, int] = MIX,
    seed: int = 0,
) -> LoadResult:
    """Sign everyone in, warm up, then every user at once for ``seconds``; all samples."""
    sessions = sign_in_all(base_url, scenario.users)
    try:
        problems = warm_up(base_url, scenario, sessions)
        if problems:
            raise RuntimeError("the warm-up failed: " + "; ".join(problems[:3]))
        deadline = time.monotonic() + seconds

        def one_user(index: int) -> list[Sample]:
            rng = random.Random(seed * 1000 + index)
            user, session = scenario.users[index], sessions[index]
            return user_loop(base_url, scenario, user, session, deadline, rng, mix)

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(scenario.users)) as pool:
            collected = list(pool.map(one_user, range(len(scenario.users))))
        wall = time.perf_counter() - began
    finally:
        for session in sessions:
            session.close()
    return LoadResult([s for samples in collected for s in samples], wall, scenario.users)


# --- the command ------------------------------------------------------------------------------


def bench_warehouse(small: bool, folder: Path | None) -> BenchWarehouse:
    """The big bench warehouse (built if missing), or with ``small`` a 16-customer one."""
    if small:
        return ensure_bench_warehouse(
            folder or SMALL_DIR, customers=SMALL_CUSTOMERS, days=SMALL_DAYS
        )
    return ensure_bench_warehouse(folder or DEFAULT_DIR)


def print_summary(summary: Mapping[str, Any]) -> None:
    """One line per kind, then the totals."""
    print(
        f"{'kind':<8} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8}"
    )
    for kind, figures in summary["kinds"].items():
        print(
            f"{kind:<8} {figures['requests']:>8} {figures['errors']:>6} {figures['p50_ms']:>8} "
            f"{figures['p95_ms']:>8} {figures['p99_ms']:>8} {figures['max_ms']:>8}"
        )
    print(
        f"{'all':<8} {summary['requests']:>8} {summary['errors']:>6} {summary['p50_ms']:>8} "
        f"{summary['p95_ms']:>8} {summary['p99_ms']:>8} {summary['max_ms']:>8}  "
        f"{summary['throughput_rps']} req/s, {summary['leaks']} leaks, "
        f"{summary['export_rows_checked']:,} export rows checked"
    )
