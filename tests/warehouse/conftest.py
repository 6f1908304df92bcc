"""Fixtures of the warehouse tests: one warehouse per backend and a factory of ``StatRow``s.

Every warehouse test runs twice, on a DuckDB file and on a fresh PostgreSQL database.
The factory builds deterministic rows here so the tests do not depend on the simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from allegro_resource.models import AdType, StatRow
from testing.postgres_databases import execute
from testing.stat_tables import stat_rows_to_arrow
from warehouse.backends import duckdb_path, open_warehouse
from warehouse.duckdb_warehouse import DuckDBWarehouse
from warehouse.stats_loader import Warehouse

FETCHED_AT = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)
RUN_ID = "run-1"
CURRENCY = "PLN"


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end, both included."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _ratio(numerator: Decimal | int, denominator: Decimal | int, places: int) -> Decimal:
    if not denominator:
        return Decimal(0).scaleb(-places)
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


class StatFactory:
    """Deterministic rows: ``campaigns`` x ``ads_per_campaign`` ads (one ad group each) x days."""

    def row(
        self,
        *,
        day: date = date(2024, 3, 1),
        campaign_id: str = "camp-1",
        ad_id: str = "ad-1",
        ad_type: AdType = AdType.SPONSORED_OFFER,
        views: int = 1000,
        clicks: int = 25,
        cost: str = "12.50",
        attributed_count: int = 2,
        attributed_value: str = "100.00",
        name: str = "",
        **overrides: object,
    ) -> StatRow:
        """One ad-day; the API ratios agree with the metrics unless overridden."""
        cost_value, value = Decimal(cost), Decimal(attributed_value)
        row = StatRow(
            ads_client_id="client-1",
            ad_type=ad_type,
            campaign_id=campaign_id,
            campaign_name=f"Campaign {campaign_id}{name}",
            ad_group_id=f"group-{ad_id}",
            ad_group_name=f"Group {ad_id}{name}",
            ad_id=ad_id,
            ad_name=f"Ad {ad_id}{name}",
            offer_id=None if ad_type is AdType.GRAPHIC_AD else f"offer-{ad_id}",
            day=day,
            views=views,
            clicks=clicks,
            interest=clicks // 2,
            cost=cost_value,
            ctr=_ratio(clicks, views, 4),
            attributed_count=attributed_count,
            attributed_value=value,
            effective_cpc=_ratio(cost_value, clicks, 2),
            rate_of_return=_ratio(value, cost_value, 2),
        )
        return replace(row, **overrides)  # type: ignore[arg-type]

    def rows(
        self,
        start: date,
        end: date,
        *,
        campaigns: int = 2,
        ads_per_campaign: int = 2,
        seed: int = 0,
        name: str = "",
    ) -> list[StatRow]:
        """Every ad on every day of start..end; some days have zero views, clicks or cost."""
        rows = []
        for c in range(campaigns):
            for a in range(ads_per_campaign):
                graphic = c % 2 == 1 and a == ads_per_campaign - 1
                for d, day in enumerate(days_between(start, end)):
                    views = ((c * 7 + a * 13 + d * 5 + seed) % 23) * 40
                    clicks = views // 30
                    count = clicks // 4
                    rows.append(
                        self.row(
                            day=day,
                            campaign_id=f"camp-{c}",
                            ad_id=f"ad-{c}-{a}",
                            ad_type=AdType.GRAPHIC_AD if graphic else AdType.SPONSORED_OFFER,
                            views=views,
                            clicks=clicks,
                            cost=str(Decimal(clicks * 43 + a + seed).scaleb(-2)),
                            attributed_count=count,
                            attributed_value=str(Decimal(count * 4999 + d).scaleb(-2)),
                            name=name,
                        )
                    )
        return rows

    def table(
        self,
        customer_id: str,
        rows: Sequence[StatRow],
        *,
        run_id: str | None = RUN_ID,
        fetched_at: datetime = FETCHED_AT,
    ) -> pa.Table:
        """The rows as the Arrow table ``load_slice`` takes."""
        return stat_rows_to_arrow(
            customer_id, rows, currency=CURRENCY, run_id=run_id, fetched_at=fetched_at
        )

    def slice_table(self, customer_id: str, start: date, end: date, **options: Any) -> pa.Table:
        """``table(customer_id, rows(start, end, **options))``."""
        return self.table(customer_id, self.rows(start, end, **options))


@pytest.fixture
def factory() -> StatFactory:
    return StatFactory()


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty warehouse: a DuckDB file, then a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    """The warehouse at ``warehouse_url``, schema created."""
    wh = open_warehouse(warehouse_url)
    yield wh
    wh.close()


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    """A DuckDB warehouse file (for the tests of DuckDB's one-writer rule)."""
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def raw_sql(warehouse: Warehouse, warehouse_url: str) -> Callable[[str], None]:
    """Run one writing statement behind the warehouse's back (to plant bad data).

    The warehouse's own connection is closed first: a DuckDB file open read-only in this
    process refuses a read-write open (the next read reopens it)."""

    def run(sql: str) -> None:
        warehouse.close()
        _execute_raw(warehouse_url, sql)

    return run


def _execute_raw(url: str, sql: str) -> None:
    if url.startswith("duckdb:"):
        with DuckDBWarehouse(duckdb_path(url))._write_connection() as con:
            con.execute(sql)  # under the write lock, this process's readers closed first
        return
    execute(url, sql)
