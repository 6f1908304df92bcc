"""The backend a warehouse URL names: ``open_warehouse(url)`` opens it and makes sure its schema
exists (``duckdb:///file.duckdb`` or ``postgresql://…``).
"""

from __future__ import annotations

from pathlib import Path

from warehouse.stats_loader import Warehouse


def open_warehouse(url: str, *, schema_checked: bool = False) -> Warehouse:
    """The warehouse at ``url`` (``duckdb:///file.duckdb`` or ``postgresql://…``), schema made.

    ``schema_checked``: this process has opened it before (and made its schema then), so the
    check, a query of its own, is left out: for a reader that opens it for every request.
    """
    scheme = url.split(":", 1)[0].lower()
    warehouse: Warehouse
    # Each backend is imported on demand: a deployment uses one and need not load the other's
    # driver.
    if scheme == "duckdb":
        from warehouse.duckdb_warehouse import DuckDBWarehouse

        warehouse = DuckDBWarehouse(duckdb_path(url))
    elif scheme in ("postgresql", "postgresql+psycopg2", "postgres"):
        from warehouse.postgres_warehouse import PostgresWarehouse

        warehouse = PostgresWarehouse(url)
    else:
        raise ValueError(
            f"unsupported warehouse URL scheme {scheme!r}; set ALLEGRO_ADS_WAREHOUSE_URL to "
            "duckdb:///path/to/warehouse.duckdb or postgresql://user:password@host/dbname"
        )
    if schema_checked:
        return warehouse
    try:
        warehouse.ensure_schema()
    except BaseException:
        warehouse.close()
        raise
    return warehouse


def duckdb_path(url: str) -> Path:
    """The file of a ``duckdb:///relative/file`` or ``duckdb:////absolute/file`` URL."""
    prefix = "duckdb:///"
    path = url[len(prefix) :] if url.lower().startswith(prefix) else ""
    if not path or path == ":memory:" or "?" in path:
        raise ValueError(
            f"warehouse URL {url!r} does not name a DuckDB file; use "
            "duckdb:///relative/file.duckdb or duckdb:////absolute/file.duckdb "
            "(an in-memory warehouse would vanish after each load)"
        )
    return Path(path)
