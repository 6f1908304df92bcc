"""Engines for the control store, its Alembic migrations, and the schema-version guard.

SQLite (the default file) runs in WAL mode with a generous busy timeout and foreign keys on;
SQLAlchemy emits BEGIN itself so that ``write()`` can take SQLite's write lock up front.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 60.0
_BEGIN_OPTION = "control_store_begin"
_PG_UPGRADE_LOCK = 0x616C_6C65  # any constant: serialises concurrent `db upgrade` runs


class ControlStoreError(Exception):
    """Base of the control store's errors; the message says what to do."""


class SchemaOutOfDate(ControlStoreError):
    """The database's schema revision is not the one this code needs."""

    def __init__(self, current: str | None, needed: str, *, newer: bool = False) -> None:
        self.current = current
        self.needed = needed
        self.newer = newer
        if newer:
            message = (
                f"the control store schema is at {current}, newer than this code (it needs "
                f"{needed}): install the version of Allegro Ads Manager that upgraded it"
            )
        else:
            message = (
                f"the control store schema is at {current or 'nothing (empty database)'}, "
                f"the code needs {needed}: run `allegro-ads db upgrade`"
            )
        super().__init__(message)


class NotFound(ControlStoreError):
    """A named row (customer, user, portfolio, link) does not exist."""


class Conflict(ControlStoreError):
    """A write would break a rule (duplicate name, already used, not allowed)."""


def make_engine(url: str, *, sqlite_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> Engine:
    """An engine for the control store at ``url`` (SQLite file or PostgreSQL)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; psycopg2 is what we ship.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": sqlite_timeout})
    busy_ms = int(sqlite_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))

    return engine


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it takes the write lock at BEGIN (waits, never upgrades)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with conn.begin():
            yield conn


def _alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def head_revision() -> str:
    """The schema revision this code needs."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise ControlStoreError("no control-store migrations found; the installation is broken")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema_current(engine: Engine) -> None:
    """Raise ``SchemaOutOfDate`` unless the database is at the code's revision."""
    current = current_revision(engine)
    if current != head_revision():
        raise SchemaOutOfDate(current, head_revision(), newer=not _is_known(current))


def _is_known(revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return ScriptDirectory.from_config(_alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def upgrade(url_or_engine: str | Engine) -> tuple[str | None, str]:
    """Bring the schema to the head revision; idempotent. Returns (before, after)."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        before = current_revision(engine)
        if before == head_revision():
            return before, before
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":  # a second concurrent upgrade waits, then no-ops
                conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
                # Batch migrations copy a table and drop the original; with foreign keys on,
                # that drop would cascade-delete every row referring to it (tokens, links).
                # The pragma is ignored inside a transaction, so it is set before BEGIN; the
                # migrations' environment checks the keys before committing.
                set_sqlite_foreign_keys(conn, enabled=False)
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_UPGRADE_LOCK})
                conn.commit()
            try:
                command.upgrade(_alembic_config(conn), "head")
            finally:
                if conn.dialect.name == "sqlite":
                    set_sqlite_foreign_keys(conn, enabled=True)
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_UPGRADE_LOCK})
                    conn.commit()
        return before, head_revision()
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def set_sqlite_foreign_keys(conn: Connection, *, enabled: bool) -> None:
    """Turn SQLite's foreign keys on or off for this connection; only outside a transaction
    (SQLite ignores the pragma inside one), so it goes to the DBAPI connection directly."""
    if conn.in_transaction():
        raise ControlStoreError("SQLite foreign keys can only be switched outside a transaction")
    value = "ON" if enabled else "OFF"
    conn.connection.dbapi_connection.execute(f"PRAGMA foreign_keys = {value}")  # type: ignore[union-attr]


def check_sqlite_foreign_keys(conn: Connection) -> None:
    """Refuse (so the migration rolls back) if any row refers to a missing one."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise ControlStoreError(
            f"the upgrade would leave {len(broken)} rows of {', '.join(tables)} referring to "
            "missing rows; nothing was changed: report this with the database file"
        )


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32, lower case: readable, unambiguous


def short_id(prefix: str, length: int = 10) -> str:
    """A short readable random id such as ``c_k3v9q2m7xa`` (50 random bits)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
