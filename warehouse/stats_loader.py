"""The warehouse interface: idempotent, atomic loads of one customer's day range, and reads.

Both backends (``duckdb_warehouse``, ``postgres_warehouse``; ``backends.open_warehouse`` picks
one) run the same SQL below, written with ``$name`` parameters; each binds them its own way.
"""

from __future__ import annotations

import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.offers_loader import (
    COUNT_CUSTOMERS_OFFERS,
    COUNT_OFFERS,
    INCOMING_OFFERS,
    REPLACE_CUSTOMERS_OFFERS,
    REPLACE_OFFERS,
    OffersLoadResult,
    prepare_offers,
)
from warehouse.offers_schema import OFFER_COLUMNS, OFFER_KEY
from warehouse.stats_schema import (
    AD_TYPE_SUMMARY_TABLE,
    AD_TYPES,
    FACT_COLUMNS,
    FACT_KEY,
    LOAD_COLUMNS,
    LOAD_SCHEMA,
    NEW_LOAD_GENERATION,
    SUMMARY_TABLE,
    Column,
    Dialect,
    ad_type_summary_insert_sql,
    summary_insert_sql,
)


def new_generation() -> int:
    """A customer's next load generation (``load_generations``): random in [1, 2**63 - 1], so it
    never repeats one the portal has seen, even after a restore, and is never 0 ("not loaded")."""
    return secrets.randbelow(2**63 - 1) + 1


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one ``load_slice`` did: the slice's rows before it (all replaced or removed), the
    rows written, and the days now recorded as loaded."""

    rows_deleted: int
    rows_inserted: int
    days: int


class WarehouseError(RuntimeError):
    """The warehouse could not do what was asked; the message says what to do."""


class LoadError(WarehouseError):
    """A load failed; its transaction was rolled back, so the previous data is intact."""


class WarehouseBusyError(WarehouseError):
    """The DuckDB file stayed locked by another process longer than we are willing to wait."""


@dataclass(frozen=True, slots=True)
class SliceLoad:
    """A validated slice, ready for a backend to write in one transaction."""

    customer_id: str
    start: date
    end: date
    table: pa.Table
    run_id: str | None
    fetched_at: datetime

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def incoming(self) -> Incoming:
        return Incoming(INCOMING, self.table, LOAD_COLUMNS, FACT_KEY)

    def failed(self, error: Exception) -> LoadError:
        """The error of a write of this slice that failed (and was rolled back)."""
        return LoadError(
            f"loading customer {self.customer_id} for {self.start}..{self.end} failed and "
            f"changed nothing: {first_line(error)}"
        )

    def params(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "start": self.start,
            "end": self.end,
            "days": self.days,
            "run_id": self.run_id,
            "fetched_at": self.fetched_at,
            "generation": new_generation(),
        }


@dataclass(frozen=True, slots=True)
class Slice:
    """What one ``load_slice`` call takes: a customer's rows for days ``start..end``."""

    customer_id: str
    start: date
    end: date
    table: pa.Table
    run_id: str | None
    fetched_at: datetime

    @property
    def range(self) -> tuple[str, date, date]:
        return (self.customer_id, self.start, self.end)

    @property
    def stamps(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "fetched_at": self.fetched_at}


# Runs one of the SQL statements below in the load's transaction and returns its rows.
RunStatement = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class Incoming:
    """An Arrow table a write transaction exposes to its SQL as the relation ``name``."""

    name: str
    table: pa.Table
    columns: tuple[Column, ...]
    key: tuple[str, ...]


class Warehouse(ABC):
    """The reporting warehouse; same tables and views on every backend (see docs/warehouse.md)."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create the tables and views if missing and record the schema version (idempotent)."""

    @abstractmethod
    def read(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        """Run one read-only query with ``$name`` parameters and return its rows as Arrow."""

    def load_slice(
        self,
        customer_id: str,
        start: date,
        end: date,
        table: pa.Table,
        *,
        run_id: str | None,
        fetched_at: datetime,
    ) -> LoadResult:
        """Replace the customer's rows for days ``start..end`` with ``table``, atomically.

        Every day of the range is recorded in ``load_log`` (0 rows is still loaded). The call's
        ``run_id`` and ``fetched_at`` are stamped on every row. Raises ``ValueError`` for a table
        that does not fit the slice (nothing touched) and ``LoadError`` if the write failed
        (rolled back, previous data intact).
        """
        load = prepare_slice(customer_id, start, end, table, run_id=run_id, fetched_at=fetched_at)
        try:
            with self._write_transaction(load.incoming(), load.params()) as run:
                return _replace_slice(load, run)
        except WarehouseError:
            raise
        except Exception as exc:
            raise load.failed(exc) from exc

    def load_slices(self, slices: Sequence[Slice]) -> list[LoadResult | Exception]:
        """``load_slice`` for each of ``slices``, each in its own transaction: a slice's entry
        is its ``LoadResult``, or the ``ValueError`` / ``WarehouseError`` that load raised (that
        slice changed nothing; the others are unaffected). Meant for many small slices (a daily
        run): a backend whose write connection is dear opens one for all of them."""
        results: list[LoadResult | Exception] = []
        for one in slices:
            try:
                results.append(self.load_slice(*one.range, one.table, **one.stamps))
            except (ValueError, WarehouseError) as exc:
                results.append(exc)
        return results

    def load_offers(
        self, customer_id: str, offers: pa.Table, fetched_at: datetime
    ) -> OffersLoadResult:
        """Replace the customer's stored offers with ``offers``, in one short transaction.

        ``offers`` has the columns ``offer_id, name, price, currency, stock_available,
        stock_sold, status`` (see ``offers_schema``); an offer stored before and missing now
        is removed. Loading the same list again changes nothing but ``fetched_at``. Raises
        ``ValueError`` for a table that does not fit (nothing touched) and ``LoadError`` if the
        write failed (rolled back, previous offers intact).
        """
        check_aware(fetched_at)
        table = prepare_offers(customer_id, offers, fetched_at)
        incoming = Incoming(INCOMING_OFFERS, table, OFFER_COLUMNS, OFFER_KEY)
        try:
            params = {"customer_id": customer_id, "generation": new_generation()}
            with self._write_transaction(incoming, params) as run:
                before = int(run(COUNT_OFFERS)[0][0])
                for statement in (*REPLACE_OFFERS, NEW_LOAD_GENERATION):
                    run(statement)
                return OffersLoadResult(before, table.num_rows)
        except WarehouseError:
            raise
        except Exception as exc:
            raise LoadError(
                f"loading the offers of customer {customer_id} failed and changed nothing: "
                f"{first_line(exc)}"
            ) from exc

    def load_offers_of_customers(
        self, offers: Mapping[str, pa.Table], fetched_at: datetime
    ) -> dict[str, OffersLoadResult]:
        """``load_offers`` for every customer in ``offers`` (customer id -> its offers), all in
        one short write transaction: the daily run's lists are small, and a write connection
        each costs more than the rows.

        All or nothing: ``ValueError`` naming the customer whose table does not fit (nothing
        touched) and ``LoadError`` if the write failed (rolled back, every customer's previous
        offers intact). A caller that must keep one customer's failure from the others loads
        them one by one after such an error.
        """
        check_aware(fetched_at)
        if not offers:
            return {}
        tables = {c: _prepared_offers(c, table, fetched_at) for c, table in offers.items()}
        incoming = Incoming(
            INCOMING_OFFERS, pa.concat_tables(tables.values()), OFFER_COLUMNS, OFFER_KEY
        )
        params = {"customer_ids": list(tables)}
        try:
            with self._write_transaction(incoming, params) as run:
                before = {str(c): int(n) for c, n in run(COUNT_CUSTOMERS_OFFERS)}
                for statement in REPLACE_CUSTOMERS_OFFERS:
                    run(statement)
        except WarehouseError:
            raise
        except Exception as exc:
            raise LoadError(
                f"loading the offers of {len(tables)} customers failed and changed nothing: "
                f"{first_line(exc)}"
            ) from exc
        return {
            c: OffersLoadResult(before.get(c, 0), table.num_rows) for c, table in tables.items()
        }

    @abstractmethod
    def _write_transaction(
        self, incoming: Incoming, params: Mapping[str, object]
    ) -> AbstractContextManager[RunStatement]:
        """One write transaction with ``incoming.table`` visible as ``incoming.name``, serialised
        with the other writes of ``params["customer_id"]`` (or of each of
        ``params["customer_ids"]``); yields a function that runs a
        statement with ``params`` bound. Commits on a clean exit only."""

    @abstractmethod
    def close(self) -> None:
        """Release pooled connections (a no-op where none are kept)."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- validation -------------------------------------------------------------------------------


def _prepared_offers(customer_id: str, table: pa.Table, fetched_at: datetime) -> pa.Table:
    """``prepare_offers``, its error naming the customer (one of several being loaded)."""
    try:
        return prepare_offers(customer_id, table, fetched_at)
    except ValueError as exc:
        raise ValueError(f"the offers of customer {customer_id}: {exc}") from exc


def prepare_slice(
    customer_id: str,
    start: date,
    end: date,
    table: pa.Table,
    *,
    run_id: str | None,
    fetched_at: datetime,
) -> SliceLoad:
    """Check that ``table`` fits the slice; return it conformed to ``LOAD_SCHEMA``."""
    if not customer_id:
        raise ValueError("customer_id is empty; pass the id of the customer whose rows these are")
    if start > end:
        raise ValueError(f"slice start {start} is after its end {end}; swap them")
    check_aware(fetched_at)
    conformed = _conform(table, run_id=run_id, fetched_at=fetched_at)
    _check_not_null(conformed)
    _check_customer(conformed, customer_id)
    _check_days(conformed, start, end)
    _check_values(conformed)
    _check_ad_type_metrics(conformed)
    return SliceLoad(customer_id, start, end, conformed, run_id, fetched_at)


def check_aware(moment: datetime) -> None:
    """Raise ``ValueError`` for a naive datetime (the warehouse stores instants)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"fetched_at {moment.isoformat()} has no time zone; pass an aware datetime "
            "such as datetime.now(UTC)"
        )


def _conform(table: pa.Table, *, run_id: str | None, fetched_at: datetime) -> pa.Table:
    missing = [name for name in LOAD_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(
            f"the table lacks columns {', '.join(missing)}; build it with stats_table_to_facts()"
        )
    count = table.num_rows
    stamped = {
        "run_id": pa.repeat(pa.scalar(run_id, pa.string()), count),
        "fetched_at": pa.repeat(pa.scalar(fetched_at, LOAD_SCHEMA.field("fetched_at").type), count),
    }
    arrays = [stamped.get(name, table.column(name)) for name in LOAD_SCHEMA.names]
    try:
        return pa.Table.from_arrays(arrays, names=LOAD_SCHEMA.names).cast(LOAD_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValueError(
            f"the table's columns do not convert to the warehouse types ({first_line(exc)}); "
            "build it with stats_table_to_facts()"
        ) from exc


def _check_not_null(table: pa.Table) -> None:
    for field in LOAD_SCHEMA:
        if not field.nullable and table.column(field.name).null_count:
            raise ValueError(f"column {field.name} has empty values; every row needs one")


def _check_customer(table: pa.Table, customer_id: str) -> None:
    others = sorted(set(pc.unique(table.column("customer_id")).to_pylist()) - {customer_id})
    if others:
        raise ValueError(
            f"the table holds rows of customer(s) {', '.join(map(str, others))}, but this slice "
            f"is customer {customer_id}'s; load each customer's rows separately"
        )


def _check_days(table: pa.Table, start: date, end: date) -> None:
    day = table.column("day")
    outside = pc.or_(pc.less(day, pa.scalar(start)), pc.greater(day, pa.scalar(end)))
    count = pc.sum(outside).as_py() or 0
    if count:
        bad = pc.min_max(pc.filter(day, outside)).as_py()
        raise ValueError(
            f"{count} row(s) fall on days {bad['min']}..{bad['max']}, outside the slice "
            f"{start}..{end}; widen the slice or drop those rows"
        )


def _check_values(table: pa.Table) -> None:
    ad_type = table.column("ad_type")
    if not pc.all(pc.is_in(ad_type, value_set=pa.array(AD_TYPES)), min_count=0).as_py():
        found = sorted(set(pc.unique(ad_type).to_pylist()) - set(AD_TYPES))
        raise ValueError(f"unknown ad_type {found}; expected one of {', '.join(AD_TYPES)}")
    currency = table.column("currency")
    if not pc.all(pc.match_substring_regex(currency, r"^[A-Z]{3}$"), min_count=0).as_py():
        raise ValueError("currency must be a three-letter ISO code such as 'PLN' on every row")


def _check_ad_type_metrics(table: pa.Table) -> None:
    """Sponsored offers always carry Allegro's effective CPC (only graphic ads lack one)."""
    sponsored = pc.equal(table.column("ad_type"), "SPONSORED_OFFER")
    if pc.any(pc.and_(sponsored, pc.is_null(table.column("api_cpc"))), min_count=0).as_py():
        raise ValueError("api_cpc has empty values on sponsored-offer rows; each needs one")


# --- the SQL of a load, shared by the backends -------------------------------------------------

INCOMING = "incoming_stats"  # the relation a backend exposes the slice's Arrow table as

_FACT_NAMES = ", ".join(c.name for c in FACT_COLUMNS)


# The slice's ads, one row per ad and the ids it was seen under, with its latest names and its
# first and last day: the three dimension upserts group these few rows instead of each grouping
# the whole slice again. MIN and MAX of MINs and MAXes are those over the rows, and every id an
# upsert groups by is in this key, so each writes what it wrote from the slice itself.
SLICE_ADS = "incoming_ads"
_ADS_KEY = ("customer_id", "ad_type", "ad_id", "ad_group_id", "campaign_id")
_ADS_NAMES = ("campaign_name", "ad_group_name", "ad_name", "offer_id")
CREATE_SLICE_ADS = (
    f"CREATE TEMPORARY TABLE {SLICE_ADS} AS\n"
    f"SELECT {', '.join(_ADS_KEY)}, {', '.join(f'MAX({n}) AS {n}' for n in _ADS_NAMES)},\n"
    f"    MIN(day) AS first_day, MAX(day) AS last_day\n"
    f"FROM {INCOMING} GROUP BY {', '.join(_ADS_KEY)}"
)
DROP_SLICE_ADS = f"DROP TABLE {SLICE_ADS}"


def _upsert_dimension(table: str, key: tuple[str, ...], values: dict[str, str]) -> str:
    """INSERT … ON CONFLICT that keeps the newest attributes and widens first/last seen days."""
    columns = [*key, *values, "first_seen_day", "last_seen_day", "updated_at"]
    select = [*key, *values.values(), "MIN(first_day)", "MAX(last_day)"]
    latest = [
        f"{name} = CASE WHEN EXCLUDED.updated_at >= {table}.updated_at "
        f"THEN EXCLUDED.{name} ELSE {table}.{name} END"
        for name in values
    ]
    return (
        f"INSERT INTO {table} ({', '.join(columns)})\n"
        f"SELECT {', '.join(select)}, CAST($fetched_at AS TIMESTAMP WITH TIME ZONE)\n"
        f"FROM {SLICE_ADS} GROUP BY {', '.join(key)}\n"
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(latest)},\n"
        f"    first_seen_day = LEAST({table}.first_seen_day, EXCLUDED.first_seen_day),\n"
        f"    last_seen_day = GREATEST({table}.last_seen_day, EXCLUDED.last_seen_day),\n"
        f"    updated_at = GREATEST({table}.updated_at, EXCLUDED.updated_at)"
    )


_KEY_MATCH = " AND ".join(f"i.{name} = s.{name}" for name in FACT_KEY)
_NON_KEY = [c.name for c in FACT_COLUMNS if c.name not in FACT_KEY]

# Rows of the slice before the load: every one is replaced or removed by it.
COUNT_SLICE = (
    "SELECT COUNT(*) FROM ad_daily_stats "
    "WHERE customer_id = $customer_id AND day BETWEEN $start AND $end"
)
# An empty slice (first load, backfill) takes a plain INSERT. Reloading one removes the keys
# the new data lacks, then upserts: the same result as DELETE + INSERT, but DuckDB updates the
# rows in place instead of churning its primary-key index (a 1M-row reload takes half as long).
INSERT_FACTS = f"INSERT INTO ad_daily_stats ({_FACT_NAMES}) SELECT {_FACT_NAMES} FROM {INCOMING}"  # noqa: S608
DELETE_VANISHED = (
    "DELETE FROM ad_daily_stats AS s "  # noqa: S608 - constants only
    "WHERE s.customer_id = $customer_id AND s.day BETWEEN $start AND $end "
    f"AND NOT EXISTS (SELECT 1 FROM {INCOMING} AS i WHERE {_KEY_MATCH})"
)
UPSERT_FACTS = f"{INSERT_FACTS}\nON CONFLICT ({', '.join(FACT_KEY)}) DO UPDATE SET " + ", ".join(
    f"{name} = EXCLUDED.{name}" for name in _NON_KEY
)
# The slice's campaign-day totals, recomputed from its facts once they are replaced (same
# transaction, so readers of the summary never see it out of step with the facts).
_SLICE = "customer_id = $customer_id AND day BETWEEN $start AND $end"
DELETE_SUMMARY = f"DELETE FROM {SUMMARY_TABLE} WHERE {_SLICE}"  # noqa: S608 - constants only
INSERT_SUMMARY = summary_insert_sql(_SLICE)
DELETE_AD_TYPE_SUMMARY = f"DELETE FROM {AD_TYPE_SUMMARY_TABLE} WHERE {_SLICE}"  # noqa: S608
INSERT_AD_TYPE_SUMMARY = ad_type_summary_insert_sql(_SLICE)
# Within one load a campaign's rows carry one name; MAX only makes the choice deterministic.
UPSERT_DIMENSIONS = (
    _upsert_dimension(
        "campaigns",
        ("customer_id", "campaign_id"),
        {"name": "MAX(campaign_name)", "ad_type": "MAX(ad_type)"},
    ),
    _upsert_dimension(
        "ad_groups",
        ("customer_id", "ad_group_id"),
        {"campaign_id": "MAX(campaign_id)", "name": "MAX(ad_group_name)"},
    ),
    _upsert_dimension(
        "ads",
        ("customer_id", "ad_type", "ad_id"),
        {
            "ad_group_id": "MAX(ad_group_id)",
            "campaign_id": "MAX(campaign_id)",
            "offer_id": "MAX(offer_id)",
            "name": "MAX(ad_name)",
        },
    ),
)
UPSERT_LOAD_LOG = f"""INSERT INTO load_log (customer_id, day, run_id, fetched_at, rows)
SELECT CAST($customer_id AS VARCHAR), d.day, CAST($run_id AS VARCHAR),
       CAST($fetched_at AS TIMESTAMP WITH TIME ZONE), COALESCE(c.n, 0)
FROM (SELECT UNNEST(CAST($days AS DATE[])) AS day) AS d
LEFT JOIN (SELECT day, COUNT(*) AS n FROM {INCOMING} GROUP BY day) AS c ON c.day = d.day
ON CONFLICT (customer_id, day) DO UPDATE SET
    run_id = EXCLUDED.run_id, fetched_at = EXCLUDED.fetched_at, rows = EXCLUDED.rows"""  # noqa: S608


def replace_slice(load: SliceLoad, run: RunStatement) -> LoadResult:
    """The body of every load's transaction, for a backend's own ``load_slices``."""
    return _replace_slice(load, run)  # looked up when called: testing.chaos wraps it


def _replace_slice(load: SliceLoad, run: RunStatement) -> LoadResult:
    """The body of every load's transaction, the same on each backend."""
    before = int(run(COUNT_SLICE)[0][0])
    facts = (INSERT_FACTS,) if before == 0 else (DELETE_VANISHED, UPSERT_FACTS)
    summaries = (DELETE_SUMMARY, INSERT_SUMMARY, DELETE_AD_TYPE_SUMMARY, INSERT_AD_TYPE_SUMMARY)
    for statement in (
        *facts,
        *summaries,
        CREATE_SLICE_ADS,
        *UPSERT_DIMENSIONS,
        DROP_SLICE_ADS,
        UPSERT_LOAD_LOG,
        NEW_LOAD_GENERATION,
    ):
        run(statement)
    after = int(run(COUNT_SLICE)[0][0])
    if after != load.table.num_rows:  # DuckDB's upsert folds a repeated key into one row
        raise LoadError(
            f"loading customer {load.customer_id} for {load.start}..{load.end} failed and "
            f"changed nothing: the table repeats keys (ad_type, ad_id, day), its "
            f"{load.table.num_rows} rows fold into {after}; send each ad once per day"
        )
    return LoadResult(before, load.table.num_rows, len(load.days))


# --- parameters ---------------------------------------------------------------------------------

_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def bind(sql: str, params: Mapping[str, object] | None) -> dict[str, object]:
    """The subset of ``params`` that ``sql`` names; ``KeyError`` naming a missing one."""
    supplied = params or {}
    names = set(_PARAM.findall(sql))
    missing = names - supplied.keys()
    if missing:
        raise KeyError(f"query parameter(s) {', '.join(sorted(missing))} not supplied")
    return {name: supplied[name] for name in names}


def to_pyformat(sql: str) -> str:
    """``$name`` placeholders as psycopg2's ``%(name)s`` (literal ``%`` doubled)."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
