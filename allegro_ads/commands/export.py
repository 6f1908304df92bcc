"""``allegro-ads export``: campaign-level daily statistics to a CSV or Parquet file."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.commands.arguments import iso_date
from settings.config import load_settings
from warehouse.backends import open_warehouse
from warehouse.export import (
    EXPORT_FORMATS,
    ExportError,
    ExportFormat,
    check_export_target,
    export_campaign_daily,
)
from warehouse.stats_loader import WarehouseError, first_line
from warehouse.stats_queries import loaded_customers


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write campaign daily statistics to a CSV or Parquet file",
        description="Campaign-level daily statistics (the campaign_daily_stats view) for "
        "the given days, money as exact decimals. Without --customer: every loaded customer.",
    )
    parser.add_argument(
        "--from", dest="start", type=iso_date, required=True, metavar="DATE", help="first day"
    )
    parser.add_argument(
        "--to", dest="end", type=iso_date, required=True, metavar="DATE", help="last day"
    )
    parser.add_argument(
        "--customer",
        dest="customers",
        action="extend",
        nargs="+",
        default=[],
        metavar="ID",
        help="only these customers (repeatable)",
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=EXPORT_FORMATS,
        help="csv or parquet (default: from the --out suffix, else csv)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="file to write (replaced)"
    )
    parser.set_defaults(func=partial(_export, parser=parser))


def _export(args: argparse.Namespace, *, parser: argparse.ArgumentParser) -> int:
    if args.start > args.end:
        parser.error(f"--from {args.start} is after --to {args.end}")
    fmt = _format_of(args.fmt, args.out)
    settings = load_settings()
    try:
        check_export_target(args.out)
        with open_warehouse(settings.resolved_warehouse_url) as warehouse:
            customer_ids = args.customers or loaded_customers(warehouse)
            rows = export_campaign_daily(
                warehouse, args.start, args.end, customer_ids, fmt, args.out
            )
    except (ExportError, WarehouseError, ValueError, OSError) as exc:
        raise CommandError(first_line(exc)) from exc
    print(f"wrote {rows} row(s) to {args.out} ({fmt})")
    return 0


def _format_of(chosen: str | None, out: Path) -> ExportFormat:
    """The --format given, else the one the --out suffix names, else csv."""
    if chosen == "parquet" or (chosen is None and out.suffix.lower() in (".parquet", ".pq")):
        return "parquet"
    return "csv"
