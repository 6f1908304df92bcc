"""Benchmark of benchmarks: issue 13's goals, each measured over several runs, as one table.

Runs each goal's benchmark as its own process ``--runs`` times (three by default), reads the
JSON line it prints last, and prints, per figure, every run's value, the median, the goal and
whether the median meets it, with the machine's load average before and after the runs. The
figures are the ones docs/benchmarks.md quotes; the commands are printed with them so a reader
can re-run one alone.

Run: ``.venv/bin/python -m bench.goals [--runs 3] [--only client,backfill,portal,simulator]``.
The portal goal needs the bench warehouse (``python -m testing.portal_data``, built if missing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Figures = dict[str, Any]


@dataclass(frozen=True)
class Figure:
    """One figure of a benchmark's JSON line, and the goal its median must meet (at most)."""

    label: str
    read: Callable[[Figures], float]
    goal: float
    unit: str


@dataclass(frozen=True)
class Goal:
    """A benchmark command and the figures read off its last line."""

    name: str
    module: str
    args: tuple[str, ...]
    figures: tuple[Figure, ...]

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]


def _per_row(cpu_key: str) -> Callable[[Figures], float]:
    return lambda f: float(f[cpu_key]) / int(f["rows"]) * 1e6


def _key(key: str) -> Callable[[Figures], float]:
    return lambda f: float(f[key])


def _page(page: str, key: str) -> Callable[[Figures], float]:
    return lambda f: float(next(p for p in _pages(f) if p["page"] == page)[key])


def _pages(figures: Figures | list[Figures]) -> list[Figures]:
    return figures if isinstance(figures, list) else [figures]


GOALS = (
    Goal(
        "client",
        "bench.client_fetch",
        ("--simulator", "process"),
        (
            Figure("client fetch: client CPU per row", _per_row("process_cpu_seconds"), 1.5, "µs"),
            Figure("client fetch: wall", _key("seconds"), 6.0, "s"),
        ),
    ),
    Goal(
        "backfill",
        "bench.backfill",
        (),
        (
            Figure("backfill: run CPU per row", _key("run_cpu_us_per_row"), 6.0, "µs"),
            Figure("backfill: wall", _key("seconds"), 12.0, "s"),
        ),
    ),
    Goal(
        "portal",
        "bench.portal",
        ("--customers", "50", "--pages", "report"),
        (
            Figure("portal report, 50 customers: p95", _page("report", "p95_ms"), 100.0, "ms"),
            Figure("portal report, 50 customers: p50", _page("report", "p50_ms"), 50.0, "ms"),
        ),
    ),
    Goal(
        "simulator",
        "bench.sim_render",
        (),
        (
            Figure(
                "simulator: first render per row",
                _key("render_us_per_row"),
                0.7,
                "µs",
            ),
        ),
    ),
)


@dataclass
class Measured:
    """A goal's runs: each run's figures and the load average around them."""

    goal: Goal
    runs: list[Figures] = field(default_factory=list)
    load_before: float = 0.0
    load_after: float = 0.0


def measure(goal: Goal, runs: int) -> Measured:
    """Run the goal's benchmark ``runs`` times; a failing run stops with its output."""
    measured = Measured(goal, load_before=os.getloadavg()[0])
    for number in range(1, runs + 1):
        print(f"==> {goal.name} run {number}/{runs}: {' '.join(goal.command[1:])}", file=sys.stderr)
        done = subprocess.run(goal.command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
            raise SystemExit(f"{goal.module} failed (exit {done.returncode}); see its output above")
        measured.runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    measured.load_after = os.getloadavg()[0]
    return measured


def table(results: list[Measured]) -> list[str]:
    """The markdown rows: figure, each run, median, goal, met, load average."""
    lines = [
        "| figure | runs | median | goal | met | load average (1 min) before → after |",
        "|---|---|---|---|---|---|",
    ]
    for measured in results:
        for figure in measured.goal.figures:
            values = [figure.read(run) for run in measured.runs]
            median = statistics.median(values)
            runs = " / ".join(f"{v:.2f}" for v in values)
            met = "yes" if median <= figure.goal else "no"
            lines.append(
                f"| {figure.label} | {runs} | **{median:.2f} {figure.unit}** | "
                f"≤ {figure.goal:g} {figure.unit} | {met} | "
                f"{measured.load_before:.1f} → {measured.load_after:.1f} |"
            )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per benchmark (median of these)")
    parser.add_argument(
        "--only",
        default=",".join(g.name for g in GOALS),
        help="comma-separated goals to run: " + ", ".join(g.name for g in GOALS),
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = set(args.only.split(","))
    unknown = chosen - {g.name for g in GOALS}
    if unknown:
        raise SystemExit(f"unknown goal(s): {', '.join(sorted(unknown))}")
    began = time.strftime("%Y-%m-%d %H:%M")
    results = [measure(goal, args.runs) for goal in GOALS if goal.name in chosen]
    print(f"Taken {began} to {time.strftime('%H:%M')}, medians of {args.runs} runs:\n")
    for goal in (m.goal for m in results):
        print(f"    .venv/bin/python -m {goal.module} {' '.join(goal.args)}".rstrip())
    print()
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
