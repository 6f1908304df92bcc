"""Benchmark: the chaos scenario end to end, then a report of what was done and what survived.

In a temporary folder: the simulator (``--seed``), ``--customers`` customers connected through
the real consent flow, a DuckDB warehouse, a SQLite control store and a Dagster instance. Then
(``testing/chaos_scenario.py``, the same code the chaos tests run): two agency accounts, the
customers their clients; the simulator's faults on (20% 5xx, a 429 storm with Retry-After before
each run, 15% of calls delayed by a 3 s latency spike, one truncated answer, the first agency's
last customer removed from the agency); ``ad_stats_job`` over ``--days`` days in a child
process; the second agency account's connection is revoked once the simulator has served as
many statistics calls as there are customers; the run stops inside the
transaction of its second warehouse load and is killed there with SIGKILL; Dagster is told the
run failed; ONE re-run of the same days; then the warehouse is compared row for row with the
simulator's truth.

The report goes to stdout; its last line is JSON. Run: ``.venv/bin/python -m bench.chaos
[--customers 8 --days 62 --seed 42]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testing.chaos import FaultPlan
from testing.chaos_scenario import ChaosOutcome, chaos_agency, run_chaos


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--customers", type=int, default=8, help="customers (the second agency's and 1 broken)"
    )
    parser.add_argument("--days", type=int, default=62, help="days of the run, ending yesterday")
    parser.add_argument("--seed", type=int, default=42, help="the simulator's seed")
    parser.add_argument("--dir", type=Path, help="where to make the temporary folder")
    args = parser.parse_args(argv)
    if args.customers < 5:
        parser.error("--customers must be at least 5 (two healthy, three broken on purpose)")
    if args.days < 1:
        parser.error("--days must be at least 1")
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the report -----------------------------------------------------------------------------


def report_lines(o: ChaosOutcome, customers: int, seed: int) -> list[str]:
    """The human-readable report."""
    plan, sim = o.plan, o.simulator
    injected = sim["faults"]
    first_calls, first_retried = o.calls_by_run.get(o.killed_run_id, (0, 0))
    re_calls, re_retried = o.calls_by_run.get(o.rerun.run_id, (0, 0))
    whole = sum(1 for days in o.days_loaded_after_kill.values() if days == o.days)
    half = sum(1 for days in o.days_loaded_after_kill.values() if 0 < days < o.days)
    usable = sum(1 for state in o.usable.values() if state == "ok")
    lines = [
        f"Chaos run: {customers} customers ({len(o.cast.healthy)} healthy, {len(o.cast.revoked)} "
        "behind the agency account revoked mid-run, 1 removed from the agency), "
        f"{o.days} days ({o.start}..{o.end}), seed {seed}",
        f"Faults on: {plan.fail_rate:.0%} 5xx, a 429 storm of {plan.storm} (Retry-After "
        f"{plan.retry_after} s) before each run, {plan.spike_rate:.0%} of calls +"
        f"{plan.spike_ms / 1000:.1f} s latency spikes, {plan.truncate} truncated answer(s)",
        "",
        "Faults injected (counted by the simulator):",
        f"  5xx answers              {injected.get('fail', 0)}",
        f"  429 with Retry-After     {injected.get('throttle', 0)}",
        f"  latency spikes           {injected.get('spike', 0)}",
        f"  truncated JSON answers   {injected.get('truncate', 0)}",
        f"  403 removed client       {injected.get('removed_client', 0)}",
        f"  agency consent withdrawn {sim['revocations']} (after {o.withdrawn_at_call} "
        "statistics calls)",
        "",
        "Calls:",
        f"  statistics requests served   {sim['statistics_calls']} "
        f"({sim['statistics_ok']} answered with data)",
        f"  first run (killed)           {first_calls} attempts logged, {first_retried} retries "
        "(calls still buffered at the kill are not in the log)",
        f"  re-run                       {re_calls} attempts logged, {re_retried} retries "
        f"(run metadata: {o.rerun.metadata.get('retries')} retries)",
        "",
        "Runs:",
        f"  failed     1: the first run, SIGKILL during load {o.kill.load} at {o.kill.seconds} s "
        f"(Dagster: {' -> '.join(o.killed_run_status)}); after the kill {whole} "
        f"customer(s) whole, {half} half-written, the rest untouched",
        f"  recovered  1: the re-run, {'success' if o.rerun.success else 'FAILED'} in "
        f"{o.rerun_seconds} s; {o.rerun.metadata.get('customers_loaded')} customers loaded, "
        f"{o.rerun.metadata.get('customers_failed')} failed",
        "",
        f"Rows checked: {o.rows_checked} rows of {len(o.cast.healthy)} healthy customers against "
        f"the simulator's truth: {len(o.mismatched)} customer(s) differ, {o.duplicates} "
        f"duplicate keys, {sum(len(d) for d in o.missing_days.values())} missing days",
        "",
        "Customers flagged:",
    ]
    agency_token = o.tokens[o.revoked_agency_id]
    lines.append(
        f"  agency account {agency_token.account_name} ({o.revoked_agency_id}): "
        f"token {agency_token.status}"
    )
    for customer in (*o.cast.revoked, o.cast.removed):
        lines.append(f"  {customer.name} ({customer.customer_id})")
        lines.append(f"    {o.flagged.get(customer.customer_id, 'NOT FLAGGED')}")
    lines += [
        "",
        f"Tokens: {usable}/{len(o.cast.healthy)} healthy customers refresh and call Allegro "
        "after the chaos",
        f"Wall time: {o.seconds} s (scenario, after connecting the customers)",
    ]
    return lines


def figures(o: ChaosOutcome, customers: int, seed: int, wall: float) -> dict[str, Any]:
    """The JSON line."""
    return {
        "customers": customers,
        "days": o.days,
        "seed": seed,
        "faults_injected": {
            **o.simulator["faults"],
            "consent_withdrawn": o.simulator["revocations"],
        },
        "statistics_calls": o.simulator["statistics_calls"],
        "retries": {"killed_run_logged": o.calls_by_run.get(o.killed_run_id, (0, 0))[1]}
        | {"rerun": o.rerun.metadata.get("retries")},
        "runs_failed": 1,
        "runs_recovered": 1 if o.rerun.success else 0,
        "killed_at_seconds": o.kill.seconds,
        "rerun_seconds": o.rerun_seconds,
        "rows_checked": o.rows_checked,
        "customers_differing": len(o.mismatched),
        "duplicate_keys": o.duplicates,
        "missing_days": sum(len(d) for d in o.missing_days.values()),
        "flagged": {cid: error.split(":")[0] for cid, error in o.flagged.items()},
        "tokens_usable": sum(1 for state in o.usable.values() if state == "ok"),
        "seconds": round(wall, 1),
    }


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(dir=args.dir, ignore_cleanup_errors=True) as folder:
        say(f"connecting {args.customers} customers in {folder}")
        with chaos_agency(Path(folder), args.customers, seed=args.seed) as agency:
            say(f"chaos over {args.days} days (run logs in {folder}/*.log while it lasts)")
            outcome = run_chaos(agency, args.days, FaultPlan(), log_dir=Path(folder))
    wall = time.monotonic() - began
    for line in report_lines(outcome, args.customers, args.seed):
        print(line)
    print(json.dumps(figures(outcome, args.customers, args.seed, wall), default=str), flush=True)
    healthy = not (outcome.mismatched or outcome.duplicates or outcome.missing_days)
    return 0 if healthy and outcome.rerun.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
