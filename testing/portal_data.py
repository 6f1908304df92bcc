"""The portal benchmarks' warehouse: 10M+ simulator ad-day rows in DuckDB, and query timings.

``ensure_bench_warehouse()`` builds the file once (``--customers`` customers ``c_bench_NNN``, each
the customer of one simulated seller, i.e. one client of the simulator's agency account;
``--days`` days up to yesterday of both ad types with every metric, graphic-ad reach, CPM and
core value included, from the simulator's own tables, every customer loaded with
``Warehouse.load_slice``, the real load path; and each seller's offers with
``Warehouse.load_offers``) and records what it holds in a marker file; a later call with the
same parameters reuses it. ``main()`` then times the portal's report queries (statistics and
offers) for ``--portal-customers`` customers over the last ``--range-days`` days of data; the
last line on stdout is JSON.

Run: ``.venv/bin/python -m testing.portal_data [--customers 200 --days 730 --repeat 30]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from allegro_resource.windows import reporting_today
from simulator.data import DEFAULT_SEED, generate_table
from simulator.entities import make_users
from simulator.offers import Offer, seller_offers
from warehouse import offer_queries, stats_queries
from warehouse.backends import open_warehouse
from warehouse.offers_schema import OFFER_INPUT_SCHEMA
from warehouse.stats_frames import stats_table_to_facts
from warehouse.stats_loader import Warehouse
from warehouse.stats_schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "data" / "bench" / "portal"
DEFAULT_CUSTOMERS = 200  # 50 customers x 730 days are ~3M rows; 200 are ~14M
DEFAULT_DAYS = 730
MIN_ROWS = 10_000_000
CURRENCY = "PLN"
RUN_ID = "bench-portal"
# The first schema whose facts carry the graphic-ad metrics and that has the offers table: a
# file built before it lacks data an upgrade cannot invent, so it is rebuilt.
FIRST_FULL_SCHEMA = 4


@dataclass(frozen=True)
class BenchWarehouse:
    """What the built file holds: where it is, whose data, which days, how many rows."""

    path: str
    seed: int
    customer_ids: list[str]
    ads_client_ids: list[str]
    start: str
    end: str
    rows: int
    build_seconds: float
    schema_version: int
    offers: int = 0  # rows of the offers table (absent from markers written before it)
    agency_login: str = "agency"  # the simulator's agency account whose clients these are

    @property
    def url(self) -> str:
        """The ``ALLEGRO_ADS_WAREHOUSE_URL`` of the file."""
        return f"duckdb:///{self.path}"

    @property
    def last_day(self) -> date:
        """The latest day with data (yesterday at build time)."""
        return date.fromisoformat(self.end)


def customer_id(index: int) -> str:
    """The bench customer id of the ``index``-th seller (0-based): ``c_bench_000``, …"""
    return f"c_bench_{index:03d}"


def portal_customer_ids(built: BenchWarehouse, count: int) -> list[str]:
    """``count`` customers spread evenly over the file (not its first ``count``).

    Each customer's rows sit together in the file, so a report of neighbours would read fewer
    row groups than a report of customers loaded at different times, as in real use.
    """
    step = max(1, len(built.customer_ids) // max(count, 1))
    return built.customer_ids[::step][:count]


def ensure_bench_warehouse(
    folder: Path = DEFAULT_DIR,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    rebuild: bool = False,
) -> BenchWarehouse:
    """The bench warehouse in ``folder``, built unless a marker says it already holds this data."""
    path = (folder / "warehouse.duckdb").resolve()
    marker = path.with_name(path.name + ".built.json")
    if not rebuild and marker.exists():
        built = BenchWarehouse(**json.loads(marker.read_text()))
        wanted = (seed, customers, days)
        found = (built.seed, len(built.customer_ids), _span(built))
        complete = built.schema_version >= FIRST_FULL_SCHEMA and built.offers > 0
        if found == wanted and path.exists() and complete:
            open_warehouse(built.url).close()  # brings an older schema forward, keeps the data
            return built
        print(
            f"{marker} describes other data {found} or an older layout, rebuilding", file=sys.stderr
        )
    marker.unlink(missing_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    built = _build(path, customers=customers, days=days, seed=seed)
    marker.write_text(json.dumps(asdict(built), indent=2) + "\n")
    return built


def _span(built: BenchWarehouse) -> int:
    return (date.fromisoformat(built.end) - date.fromisoformat(built.start)).days + 1


def _build(path: Path, *, customers: int, days: int, seed: int) -> BenchWarehouse:
    today = reporting_today()
    end = today - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    sellers, agencies = make_users(seed, customers)
    client_ids = [str(seller.ads_client_id) for seller in sellers]
    ids = [customer_id(i) for i in range(customers)]
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = offers = 0
    began = time.perf_counter()
    warehouse = open_warehouse(f"duckdb:///{path}")
    with warehouse, tqdm(total=customers, unit="customer", desc="loading") as progress:
        for customer, client_id in zip(ids, client_ids, strict=True):
            generated = generate_table([client_id], start, end, today, seed=seed)
            fetched_at = datetime.now(UTC)
            # The pipeline's own conversion: the simulator's table has the client's columns.
            table = stats_table_to_facts(
                customer, generated, currency=CURRENCY, run_id=RUN_ID, fetched_at=fetched_at
            )
            result = warehouse.load_slice(
                customer, start, end, table, run_id=RUN_ID, fetched_at=fetched_at
            )
            rows += result.rows_inserted
            # What the offers asset loads from the seller's /sale/offers, from the same data.
            loaded = warehouse.load_offers(
                customer, offers_table(seller_offers(seed, client_id)), fetched_at
            )
            offers += loaded.rows_inserted
            progress.update()
            progress.set_postfix(rows=f"{rows:,}")
    seconds = time.perf_counter() - began
    print(
        f"loaded {rows:,} rows and {offers:,} offers in {seconds:.1f}s "
        f"({rows / seconds:,.0f} rows/s)"
    )
    if rows < MIN_ROWS:
        print(f"warning: only {rows:,} rows; add --customers or --days", file=sys.stderr)
    return BenchWarehouse(
        path=str(path),
        seed=seed,
        customer_ids=ids,
        ads_client_ids=client_ids,
        start=start.isoformat(),
        end=end.isoformat(),
        rows=rows,
        build_seconds=round(seconds, 1),
        schema_version=SCHEMA_VERSION,
        offers=offers,
        agency_login=agencies[0].login,
    )


def offers_table(offers: Sequence[Offer]) -> pa.Table:
    """The simulator's offers (money in grosze) as ``load_offers`` takes them."""
    return pa.Table.from_pylist(
        [
            {
                "offer_id": offer.id,
                "name": offer.name,
                "price": Decimal(offer.price).scaleb(-2),
                "currency": CURRENCY,
                "stock_available": offer.available,
                "stock_sold": offer.sold,
                "status": offer.status,
            }
            for offer in offers
        ],
        schema=OFFER_INPUT_SCHEMA,
    )


# --- query timings -------------------------------------------------------------------------------


def time_call(call: Callable[[], object], repeat: int) -> dict[str, float]:
    """Milliseconds of ``repeat`` calls after one warm-up: median, p95 and max."""
    call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(samples[-1], 1),
    }


def time_queries(
    warehouse: Warehouse, customer_ids: Sequence[str], start: date, end: date, repeat: int
) -> dict[str, dict[str, float]]:
    """Timings of the portal's report queries for ``customer_ids`` over ``start..end``."""
    ids = list(customer_ids)
    calls: dict[str, Callable[[], object]] = {
        "campaign_report_table": lambda: stats_queries.campaign_report_table(
            warehouse, ids, start, end
        ),
        "daily_trend": lambda: stats_queries.daily_trend(warehouse, ids, start, end),
        "customer_summary": lambda: stats_queries.customer_summary(warehouse, ids, start, end),
        "latest_loaded_day": lambda: stats_queries.latest_loaded_day(warehouse, ids),
        "unavailable_offer_spend": lambda: offer_queries.unavailable_offer_spend(
            warehouse, ids, start, end
        ),
        "top_offers": lambda: offer_queries.top_offers(warehouse, ids, start, end),
    }
    return {name: time_call(call, repeat) for name, call in calls.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the file lives")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rebuild", action="store_true", help="build even if the marker matches")
    parser.add_argument("--portal-customers", type=int, default=50, help="customers per report")
    parser.add_argument("--range-days", type=int, default=90, help="days per report")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per query")
    args = parser.parse_args()

    built = ensure_bench_warehouse(
        args.dir, customers=args.customers, days=args.days, seed=args.seed, rebuild=args.rebuild
    )
    print(
        f"warehouse {built.path}: {built.rows:,} rows, {built.offers:,} offers, "
        f"{built.start}..{built.end}"
    )
    ids = portal_customer_ids(built, args.portal_customers)
    end = built.last_day
    start = end - timedelta(days=args.range_days - 1)
    with open_warehouse(built.url) as warehouse:
        timings = time_queries(warehouse, ids, start, end, args.repeat)
    for name, timing in timings.items():
        print(
            f"{name:<24} median {timing['median_ms']:7.1f} ms  p95 {timing['p95_ms']:7.1f} ms  "
            f"max {timing['max_ms']:7.1f} ms"
        )
    print(
        json.dumps(
            {
                "rows_in_warehouse": built.rows,
                "offers_in_warehouse": built.offers,
                "customers": len(ids),
                "days": args.range_days,
                **{f"{name}_median_ms": t["median_ms"] for name, t in timings.items()},
                **{f"{name}_p95_ms": t["p95_ms"] for name, t in timings.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
