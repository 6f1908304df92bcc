"""Benchmark: a fresh clone's install, as both README commands do it (``scripts/_env.sh``'s
``ensure_venv``), at two commits: by default ``main`` (before: ``pip install -e '.[dev]'``) and
``HEAD`` (after: ``uv sync --locked`` from ``uv.lock``).

For each commit, ``--runs`` times: the repository is cloned into a temporary folder, then the
install runs twice, first with empty package caches (``PIP_CACHE_DIR``, ``UV_CACHE_DIR`` and
``XDG_CACHE_HOME`` in a new temporary folder, so uv itself is bootstrapped with pip too) and
then, in a second fresh clone, with the caches the first left ("warm": a developer's second
checkout). ``uv`` is taken off ``PATH`` so a preinstalled one does not count. Measures wall time
and the children's CPU time; prints one JSON line per install and, last, the medians.

Run: ``.venv/bin/python -m bench.install_time [--before main --after HEAD --runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
INSTALL = ["bash", "-c", "source scripts/_env.sh && ensure_venv"]


def path_without_uv() -> str:
    """``PATH`` minus the folders that hold a ``uv``."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not (Path(f) / "uv").exists())


def install(commit: str, caches: Path, work: Path) -> dict[str, float]:
    """Clone ``commit`` into ``work`` and install it with the caches under ``caches``."""
    checkout = work / "checkout"
    shutil.rmtree(checkout, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(REPO), str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "checkout", "-q", commit], check=True)
    env = {
        **os.environ,
        "PATH": path_without_uv(),
        "PIP_CACHE_DIR": str(caches / "pip"),
        "UV_CACHE_DIR": str(caches / "uv"),
        "XDG_CACHE_HOME": str(caches / "xdg"),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(INSTALL, cwd=checkout, env=env, check=True, capture_output=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shutil.rmtree(checkout)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="main", help="commit installed with pip")
    parser.add_argument("--after", default="HEAD", help="commit installed from uv.lock")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {}
    for run in range(args.runs):
        for label, commit in (("before", args.before), ("after", args.after)):
            with tempfile.TemporaryDirectory(prefix="install-time-") as folder:
                caches, work = Path(folder) / "caches", Path(folder)
                for cache in ("cold", "warm"):
                    measured = install(commit, caches, work)
                    line: dict[str, Any] = {"run": run + 1, "commit": label, "cache": cache}
                    line |= measured | {"load_average": os.getloadavg()[0]}
                    print(json.dumps(line), flush=True)
                    results.setdefault(f"{label}_{cache}", []).append(measured)
    medians = {
        key: {m: statistics.median(r[m] for r in runs) for m in ("wall_s", "cpu_s")}
        for key, runs in results.items()
    }
    print(json.dumps({"medians": medians, "runs": args.runs}))


if __name__ == "__main__":
    main()
