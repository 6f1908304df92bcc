"""The warehouse in a PostgreSQL database (production, more than one machine).

Loads stream the slice's Arrow table as CSV through ``COPY … FROM STDIN`` into a temporary
table, then replace the customer's days in one short transaction. Loads of one customer are
serialised by an advisory lock; readers are never blocked (MVCC).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from warehouse.migrations import upgrade_plan
from warehouse.stats_loader import (
    Incoming,
    RunStatement,
    Warehouse,
    WarehouseError,
    bind,
    first_line,
    to_pyformat,
)
from warehouse.stats_schema import INSTANT, SELECT_SCHEMA_VERSION, schema_outdated

# Advisory-lock namespace of this product's warehouse (first key of the two-int form).
_LOCK_NAMESPACE = 7_421_001
_SCHEMA_LOCK = f"SELECT pg_advisory_xact_lock({_LOCK_NAMESPACE}, 0)"
_CUSTOMER_LOCK = f"SELECT pg_advisory_xact_lock({_LOCK_NAMESPACE}, hashtext($customer_id))"
_CSV_BATCH_ROWS = 50_000


def _locked_customers(params: Mapping[str, object]) -> list[str]:
    """The customers a write names: ``customer_ids`` (several) or ``customer_id``."""
    many = params.get("customer_ids")
    if isinstance(many, list):
        return sorted({str(c) for c in many})
    return [str(params["customer_id"])]


# PostgreSQL type OIDs -> Arrow types for query results (numeric is handled separately).
_OID_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    1042: pa.string(),
    1043: pa.string(),
    700: pa.float32(),
    701: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: INSTANT,
}
_NUMERIC_OID = 1700


class PostgresWarehouse(Warehouse):
    """The warehouse in the PostgreSQL database at ``url`` (``postgresql[+psycopg2]://…``)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.drivername not in ("postgresql", "postgresql+psycopg2", "postgres"):
            raise ValueError(
                f"warehouse URL driver {parsed.drivername!r} is not supported; "
                "use postgresql:// or postgresql+psycopg2://"
            )
        parsed = parsed.set(drivername="postgresql+psycopg2")
        self.url = parsed.render_as_string(hide_password=True)
        self._engine = create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=4,
            max_overflow=4,
            connect_args={
                "options": "-c timezone=UTC",
                "client_encoding": "utf8",
                "application_name": "allegro-ads-warehouse",
            },
        )

    def __repr__(self) -> str:
        return f"PostgresWarehouse({self.url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._engine.dispose()

    def ensure_schema(self) -> None:
        """Create the schema if missing, or bring it forward step by step if it is older than
        this code: one transaction per step, each serialised by an advisory lock."""
        while True:
            with self._transaction() as cur:
                cur.execute(_SCHEMA_LOCK)
                found = _stored_version(cur)
                if not schema_outdated(found):
                    return
                # Only the next step: the lock is held to the end of this transaction, and the
                # version is read again (another process may have moved it) for the following.
                for statement in upgrade_plan(found, "postgresql")[0].with_version():
                    cur.execute(statement)

    def read(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        """Run one query in a short transaction and return its rows as Arrow."""
        bound = bind(sql, params)
        with self._transaction(read_only=True) as cur:
            cur.execute(to_pyformat(sql), bound)
            if cur.description is None:
                return pa.table({})
            return _to_arrow(cur.description, cur.fetchall())

    @contextmanager
    def _write_transaction(
        self, incoming: Incoming, params: Mapping[str, object]
    ) -> Iterator[RunStatement]:
        with self._transaction() as cur:

            def run(statement: str) -> list[tuple[Any, ...]]:
                cur.execute(to_pyformat(statement), bind(statement, params))
                return list(cur.fetchall()) if cur.description is not None else []

            # Sorted: two writers locking several customers each never wait for each other.
            for customer_id in _locked_customers(params):
                cur.execute(to_pyformat(_CUSTOMER_LOCK), {"customer_id": customer_id})
            cur.execute(_create_incoming(incoming))
            cur.copy_expert(_copy_incoming(incoming), _CsvStream(incoming.table), size=1 << 20)
            yield run

    @contextmanager
    def _transaction(self, *, read_only: bool = False) -> Iterator[Any]:
        """A psycopg2 cursor in one transaction: committed on success, rolled back otherwise."""
        try:
            conn = self._engine.raw_connection()
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise WarehouseError(
                f"cannot connect to the warehouse at {self.url}: {first_line(cause)}; "
                "check ALLEGRO_ADS_WAREHOUSE_URL and that PostgreSQL is running"
            ) from exc
        try:
            cur = conn.cursor()
            if read_only:
                cur.execute("SET TRANSACTION READ ONLY")
            try:
                yield cur
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cur.close()
        finally:
            conn.close()


def _create_incoming(incoming: Incoming) -> str:
    # The key lets a reload's anti-joins use an index instead of comparing every old row with
    # every new one (quadratic: a 12k-row reload took 21 s without it, under 1 s with it).
    columns = ", ".join(f"{c.name} {c.sql_type}" for c in incoming.columns)
    return (
        f"CREATE TEMPORARY TABLE {incoming.name} ({columns}, "
        f"PRIMARY KEY ({', '.join(incoming.key)})) ON COMMIT DROP"
    )


def _copy_incoming(incoming: Incoming) -> str:
    names = ", ".join(c.name for c in incoming.columns)
    return f"COPY {incoming.name} ({names}) FROM STDIN WITH (FORMAT csv)"


def _stored_version(cur: Any) -> int | None:
    cur.execute(
        "SELECT COUNT(*) FROM information_schema.tables "
        "WHERE table_name = 'warehouse_meta' AND table_schema = current_schema()"
    )
    if not cur.fetchone()[0]:
        return None
    cur.execute(SELECT_SCHEMA_VERSION)
    row = cur.fetchone()
    return int(row[0]) if row else None


def _to_arrow(description: Sequence[Any], rows: list[tuple[Any, ...]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(description)
    arrays = [
        _column_array(column, values) for column, values in zip(description, columns, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[column.name for column in description])


def _column_array(column: Any, values: Sequence[Any]) -> pa.Array:
    if column.type_code == _NUMERIC_OID:
        precision, scale = column.precision, column.scale
        if precision is not None and 0 < precision <= 38 and scale is not None:
            return pa.array(values, type=pa.decimal128(precision, scale))
        return pa.array(values)  # unconstrained NUMERIC: a decimal type that fits every value
    type_ = _OID_TYPES.get(column.type_code)
    return pa.array(values, type=type_) if type_ is not None else pa.array(values)


class _CsvStream:
    """A read()-able view of an Arrow table as headerless CSV, produced batch by batch."""

    def __init__(self, table: pa.Table) -> None:
        self._chunks = _csv_chunks(table)
        self._chunk = b""
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        while self._offset >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._chunk, self._offset = chunk, 0
        end = len(self._chunk) if size < 0 else self._offset + size
        data = self._chunk[self._offset : end]
        self._offset += len(data)
        return data


def _csv_chunks(table: pa.Table) -> Iterator[bytes]:
    # Strings are always quoted and nulls left empty, which is exactly COPY's CSV NULL rule.
    options = pacsv.WriteOptions(include_header=False)
    for batch in table.to_batches(max_chunksize=_CSV_BATCH_ROWS):
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, options)
        yield buffer.getvalue()
