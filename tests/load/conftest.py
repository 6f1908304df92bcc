"""Fixtures of the load tests: a control store on each backend (a SQLite file, then a fresh
PostgreSQL database) and, for the portal load, a small bench warehouse built once per session.

The portal load itself lives in ``testing/portal_load.py`` (the benchmark runs the same function).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.portal_data import BenchWarehouse, ensure_bench_warehouse
from testing.postgres_databases import temporary_database

SMALL_CUSTOMERS = 16  # four portfolios of four
SMALL_DAYS = 30


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def control_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty control store: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'control.db'}"
        return
    with temporary_database("aam_load") as url:
        yield url


@pytest.fixture(scope="session")
def small_bench_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BenchWarehouse:
    """A DuckDB bench warehouse of 16 simulated customers x 30 days, loaded by ``load_slice``."""
    folder = tmp_path_factory.mktemp("bench-warehouse")
    return ensure_bench_warehouse(folder, customers=SMALL_CUSTOMERS, days=SMALL_DAYS)
