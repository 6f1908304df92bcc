"""Campaign-level daily data as a CSV or Parquet file, decimals exact, never half-written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Literal, get_args

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from warehouse.stats_loader import Warehouse
from warehouse.stats_queries import campaign_daily

ExportFormat = Literal["csv", "parquet"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)


class ExportError(ValueError):
    """The export request cannot be carried out; the message says what to change."""


def export_campaign_daily(
    wh: Warehouse,
    start: date,
    end: date,
    customer_ids: Sequence[str],
    fmt: ExportFormat,
    out: Path,
) -> int:
    """Write ``campaign_daily_stats`` for the customers and days to ``out``; return rows written.

    CSV holds decimals as plain strings ("12.30"), Parquet as decimal128. The file appears
    complete or not at all (written to a temporary file next to it, then renamed).
    """
    check_export_target(out)
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    if start > end:
        raise ExportError(f"the export starts on {start}, after its end {end}; swap the dates")
    table = campaign_daily(wh, customer_ids, start, end)
    _write_atomically(table, fmt, out)
    return int(table.num_rows)


def check_export_target(out: Path) -> None:
    """Raise ``ExportError`` unless ``out`` can become a file: not a directory, parent exists."""
    if out.is_dir():
        raise ExportError(
            f"{out} is a directory; give a file path such as {out / 'campaign_daily.csv'}"
        )
    if not out.parent.is_dir():
        raise ExportError(
            f"directory {out.parent} does not exist; create it first or choose another path"
        )


def _write_atomically(table: pa.Table, fmt: ExportFormat, out: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if fmt == "csv":
            pacsv.write_csv(table, temporary)
        else:
            pq.write_table(table, temporary)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
