"""Benchmark: Dagster's own bookkeeping of one single-run backfill, without our code.

An asset over ``--days`` daily partitions with the six asset checks ``ad_daily_stats`` declares
returns a ``MaterializeResult`` carrying a per-customer Markdown table of ``--customers`` lines
(as the real asset's metadata does) and nothing else: the run's CPU and wall time are what
Dagster spends creating the run (a planned event per partition), recording a materialisation
per partition and the checks. ``--storage``: ``local`` (the local instance's batched SQLite event
log, ``pipelines.event_storage``), ``sqlite`` (Dagster's own SQLite storage) or ``postgres``
(``--dagster-pg-url``, an empty database). ``DAGSTER_EVENT_BATCH_SIZE`` is 1000 unless the
environment sets it, as where ``pipelines.definitions`` is loaded; ``DAGSTER_EVENT_BATCH_SIZE=0``
with ``--storage sqlite`` is Dagster's default behaviour (the code before batching).

The last line on stdout is JSON. Run: ``.venv/bin/python -m bench.dagster_events --storage local``.
"""

# No `from __future__ import annotations`: Dagster reads the asset's annotations at run time.
import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

FIRST_DAY = date(2024, 1, 1)
CHECKS = 6


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=730, help="daily partitions in the run")
    parser.add_argument("--customers", type=int, default=20, help="lines of the metadata table")
    parser.add_argument("--storage", choices=("local", "sqlite", "postgres"), default="local")
    parser.add_argument("--dagster-pg-url", help="empty PostgreSQL database (--storage postgres)")
    return parser.parse_args(argv)


def instance_yaml(args: argparse.Namespace, home: Path) -> str:
    """The ``dagster.yaml`` of the temporary instance."""
    from pipelines.event_storage import local_storage_yaml

    text = "telemetry:\n  enabled: false\n"
    if args.storage == "local":
        return text + local_storage_yaml(home)
    if args.storage == "postgres":
        if not args.dagster_pg_url:
            raise SystemExit("--storage postgres needs --dagster-pg-url")
        os.environ["BENCH_DAGSTER_PG_URL"] = args.dagster_pg_url
        return text + "storage:\n  postgres:\n    postgres_url:\n      env: BENCH_DAGSTER_PG_URL\n"
    return text


def run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    """One single-run backfill of the bare asset; its CPU and wall seconds."""
    (home / "dagster.yaml").write_text(instance_yaml(args, home))
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    from pipelines.event_storage import enable_batched_event_writes
    from pipelines.partitions import range_tags

    enable_batched_event_writes()  # as loading pipelines.definitions does

    table = "\n".join(
        ["| customer | id | rows |", "|---|---|---:|"]
        + [f"| Customer {i} | c_{i:08d} | {i * 1000} |" for i in range(args.customers)]
    )
    partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), end_offset=0)

    @dg.asset(
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[dg.AssetCheckSpec(f"check_{i}", asset="daily") for i in range(CHECKS)],
    )
    def daily() -> dg.MaterializeResult:  # type: ignore[type-arg]
        return dg.MaterializeResult(
            metadata={"rows": dg.MetadataValue.int(1), "per_customer": dg.MetadataValue.md(table)},
            check_results=[
                dg.AssetCheckResult(check_name=f"check_{i}", passed=True) for i in range(CHECKS)
            ],
        )

    job = dg.Definitions(
        assets=[daily], jobs=[dg.define_asset_job("daily_job", selection=[daily])]
    ).resolve_job_def("daily_job")
    last = FIRST_DAY + timedelta(days=args.days - 1)
    with dg.DagsterInstance.get() as instance:
        began, cpu_began = time.perf_counter(), time.process_time()
        result = job.execute_in_process(instance=instance, tags=range_tags(FIRST_DAY, last))
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    if not result.success:
        raise RuntimeError("the run failed")
    return {
        "storage": args.storage,
        "days": args.days,
        "event_batch_size": os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "unset"),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as home:
        figures = run(args, Path(home))
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
