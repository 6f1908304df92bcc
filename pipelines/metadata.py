"""Materialisation metadata: what a data engineer sees first when a run is opened."""

from __future__ import annotations

from typing import Any

import dagster as dg

from services.stats_sync import SyncReport


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def per_customer_table(report: SyncReport) -> str:
    """A Markdown table: one line per customer with rows, calls, retries and any error."""
    lines = [
        "| customer | id | rows | days | API calls | retries | error | fix |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for o in report.outcomes:
        lines.append(
            f"| {_cell(o.name)} | {o.customer_id} | {o.rows} | {o.days} | {o.api_calls} "
            f"| {o.retries} | {_cell(o.error)} | {_cell(o.fix)} |"
        )
    return "\n".join(lines)


def per_customer_metadata(report: SyncReport) -> dict[str, Any]:
    """The run's per-customer table as metadata (``per_customer``).

    A run over a range records a materialisation per day, each with the run's metadata; the
    table goes on one of them only (``pipelines.assets``), not on every day of a backfill."""
    return {"per_customer": dg.MetadataValue.md(per_customer_table(report))}


def run_metadata(report: SyncReport, seconds: float) -> dict[str, Any]:
    """The totals of one run (the per-customer table is ``per_customer_metadata``)."""
    return {
        "window": f"{report.start} .. {report.end}",
        "rows": dg.MetadataValue.int(report.rows),
        "api_calls": dg.MetadataValue.int(report.api_calls),
        "retries": dg.MetadataValue.int(report.retries),
        "customers_loaded": dg.MetadataValue.int(len(report.loaded)),
        "customers_failed": dg.MetadataValue.int(len(report.failed)),
        "failed_customers": ", ".join(o.customer_id for o in report.failed) or "none",
        "seconds": dg.MetadataValue.float(round(seconds, 2)),
    }
