"""Benchmark: ``load_slice`` of a large slice into a fresh DuckDB file vs a bare Arrow insert.

Builds a synthetic Arrow table of ad-day rows with numpy (one customer, ``--ads`` ads over
``--rows / --ads`` days), loads it with ``Warehouse.load_slice`` (validation, file lock,
delete, insert under the primary key, dimension upserts, load_log, commit) into a fresh
file, then times ``INSERT INTO bare SELECT * FROM arrow_table`` into a table without keys in
another fresh file. Both timings include opening and closing the connection (DuckDB writes
its checkpoint on close). The time of reloading the same slice (replacing every row) goes
to stderr; the last line printed on stdout is JSON.

Run: ``.venv/bin/python -m bench.warehouse_load [--rows 1000000 --ads 25000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.backends import open_warehouse
from warehouse.stats_schema import LOAD_COLUMNS, LOAD_SCHEMA, MONEY, RATIO

CUSTOMER = "bench-customer"
START = date(2024, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ads", type=int, default=25_000)
    parser.add_argument("--dir", type=Path, help="where to put the files (default: a temp dir)")
    args = parser.parse_args()

    days = max(1, args.rows // args.ads)
    began = time.perf_counter()
    table = synthetic_table(args.ads, days, seed=7)
    print(
        f"built {table.num_rows:,} rows ({args.ads:,} ads x {days} days) "
        f"in {time.perf_counter() - began:.2f}s",
        file=sys.stderr,
    )

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        load_seconds = time_load_slice(Path(folder) / "warehouse.duckdb", table, days)
        raw_seconds = time_raw_insert(Path(folder) / "bare.duckdb", table)

    rows = table.num_rows
    print(f"load_slice {load_seconds:.2f}s, raw insert {raw_seconds:.2f}s", file=sys.stderr)
    print(
        json.dumps(
            {
                "rows": rows,
                "load_slice_seconds": round(load_seconds, 3),
                "raw_insert_seconds": round(raw_seconds, 3),
                "ratio": round(load_seconds / raw_seconds, 2),
                "rows_per_second": round(rows / load_seconds),
            }
        )
    )


def synthetic_table(ads: int, days: int, *, seed: int) -> pa.Table:
    """``ads`` x ``days`` rows in ``LOAD_SCHEMA``: ten ads per ad group, ten groups per campaign."""
    rng = np.random.default_rng(seed)
    count = ads * days
    ad = np.repeat(np.arange(ads), days)  # rows grouped by ad, days in order
    day = np.tile(np.arange(days), ads)
    graphic = ad % 10 == 9

    views = rng.integers(0, 5000, count)
    clicks = views // rng.integers(15, 80, count)
    cost_cents = clicks * rng.integers(5, 150, count)
    attributed = clicks // rng.integers(5, 40, count)
    value_cents = attributed * rng.integers(1000, 30000, count)

    ids = {
        "campaign": _labels("camp-", ad // 100, ads // 100 + 1),
        "group": _labels("group-", ad // 10, ads // 10 + 1),
        "ad": _labels("ad-", ad, ads),
    }
    columns: dict[str, pa.Array] = {
        "customer_id": _constant(CUSTOMER, count),
        "ads_client_id": _constant("bench-client", count),
        "ad_type": pa.array(np.where(graphic, "GRAPHIC_AD", "SPONSORED_OFFER")),
        "campaign_id": ids["campaign"],
        "ad_group_id": ids["group"],
        "ad_id": ids["ad"],
        "offer_id": pc.if_else(
            pa.array(graphic), pa.scalar(None, pa.string()), _labels("offer-", ad, ads)
        ),
        "day": pa.array(np.datetime64(START, "D") + day.astype("timedelta64[D]")),
        "views": pa.array(views),
        "clicks": pa.array(clicks),
        "interest": pa.array(clicks // 2),
        "cost": _decimals(cost_cents, MONEY),
        "attributed_count": pa.array(attributed),
        "attributed_value": _decimals(value_cents, MONEY),
        "api_ctr": _decimals(_rounded_ratio(clicks * 10_000, views), RATIO),
        # As Allegro sends them: graphic ads have no effective CPC but reach, CPM, core value.
        "api_cpc": _only(~graphic, _decimals(_rounded_ratio(cost_cents, clicks), MONEY)),
        "unique_reach": _only(graphic, pa.array(views * 3 // 4)),
        "effective_cpm": _only(graphic, _decimals(_rounded_ratio(cost_cents * 1000, views), MONEY)),
        "attributed_to_core_value": _only(graphic, _decimals(value_cents // 2, MONEY)),
        "api_roas": _decimals(_rounded_ratio(value_cents * 100, cost_cents), MONEY),
        "currency": _constant("PLN", count),
        "fetched_at": pa.repeat(
            pa.scalar(datetime.now(UTC), LOAD_SCHEMA.field("fetched_at").type), count
        ),
        "run_id": _constant("bench-run", count),
        "campaign_name": _labels("Campaign ", ad // 100, ads // 100 + 1),
        "ad_group_name": _labels("Ad group ", ad // 10, ads // 10 + 1),
        "ad_name": _labels("Ad ", ad, ads),
    }
    return pa.Table.from_arrays([columns[f.name] for f in LOAD_SCHEMA], schema=LOAD_SCHEMA)


def _only(rows: np.ndarray, values: pa.Array) -> pa.Array:
    """``values`` where ``rows`` is true, NULL elsewhere."""
    return pc.if_else(pa.array(rows), values, pa.scalar(None, values.type))


def time_load_slice(path: Path, table: pa.Table, days: int) -> float:
    warehouse = open_warehouse(f"duckdb:///{path}")
    end = START + timedelta(days=days - 1)
    timings = []
    for _ in range(2):  # a first load, then a reload of the same slice (the daily lookback)
        began = time.perf_counter()
        result = warehouse.load_slice(
            CUSTOMER, START, end, table, run_id="bench-run", fetched_at=datetime.now(UTC)
        )
        timings.append(time.perf_counter() - began)
        assert result.rows_inserted == table.num_rows, result
    print(f"reloading the same slice took {timings[1]:.2f}s", file=sys.stderr)
    return timings[0]


def time_raw_insert(path: Path, arrow_table: pa.Table) -> float:
    columns = ", ".join(f"{c.name} {c.sql_type}" for c in LOAD_COLUMNS)
    setup = duckdb.connect(str(path))
    setup.execute(f"CREATE TABLE bare ({columns})")
    setup.close()
    began = time.perf_counter()
    con = duckdb.connect(str(path))
    con.register("arrow_table", arrow_table)
    con.execute("INSERT INTO bare SELECT * FROM arrow_table")
    con.close()
    return time.perf_counter() - began


def _labels(prefix: str, index: np.ndarray, distinct: int) -> pa.Array:
    names = pa.array([f"{prefix}{i}" for i in range(distinct)])
    return names.take(pa.array(index))


def _constant(value: str, count: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), count)


def _rounded_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """round(numerator / denominator) half up, 0 where the denominator is 0 (as the API does)."""
    safe = np.where(denominator == 0, 1, denominator)
    return np.where(denominator == 0, 0, (2 * numerator + safe) // (2 * safe))


def _decimals(scaled: np.ndarray, type_: pa.Decimal128Type) -> pa.Array:
    """Integers in units of the type's last place (cents for money) as exact decimals."""
    unit = pa.scalar(Decimal(1).scaleb(-type_.scale), pa.decimal128(type_.scale + 1, type_.scale))
    whole = pa.array(scaled.astype(np.int64)).cast(pa.decimal128(19, 0))
    return pc.multiply(whole, unit).cast(type_)


if __name__ == "__main__":
    main()
