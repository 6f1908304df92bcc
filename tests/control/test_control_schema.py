"""The control store's schema: migrations, the version guard, engine settings, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from control_store import customers
from control_store import database as control_db
from control_store.database import (
    SchemaOutOfDate,
    check_schema_current,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
    write,
)
from control_store.schema import auth_links, metadata


def test_upgrade_then_check_passes(control_url: str) -> None:
    before, after = upgrade(control_url)
    assert (before, after) == (None, head_revision())
    engine = make_engine(control_url)
    try:
        check_schema_current(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(control_url: str) -> None:
    upgrade(control_url)
    assert upgrade(control_url) == (head_revision(), head_revision())


def test_empty_database_is_refused_with_the_upgrade_command(control_url: str) -> None:
    engine = make_engine(control_url)
    try:
        with pytest.raises(SchemaOutOfDate, match=r"run `allegro-ads db upgrade`"):
            check_schema_current(engine)
    finally:
        engine.dispose()


def test_out_of_date_schema_is_refused_with_both_versions(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = head_revision()
    monkeypatch.setattr(control_db, "head_revision", lambda: "0099")  # code moved on
    with pytest.raises(SchemaOutOfDate) as refused:
        check_schema_current(engine)
    assert str(refused.value) == (
        f"the control store schema is at {current}, the code needs 0099: "
        "run `allegro-ads db upgrade`"
    )


def test_a_schema_newer_than_the_code_is_refused_without_suggesting_upgrade(
    engine: Engine,
) -> None:
    with write(engine) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(SchemaOutOfDate, match="at f00d, newer than this code") as refused:
        check_schema_current(engine)
    assert "db upgrade" not in str(refused.value)


def test_migrations_create_exactly_the_schema_module(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_sqlite_runs_in_wal_with_busy_timeout_and_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/nested/dir/control.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_timestamps_come_back_timezone_aware_utc(engine: Engine) -> None:
    customer = customers.create_customer(engine, "Strefa")
    warsaw = timezone(timedelta(hours=2))
    moment = datetime(2025, 6, 1, 14, 30, tzinfo=warsaw)
    with write(engine) as conn:
        conn.execute(
            auth_links.insert().values(
                id="l1", customer_id=customer.id, created_at=moment, expires_at=moment
            )
        )
    with engine.connect() as conn:
        stored = conn.execute(select(auth_links.c.expires_at)).scalar_one()
    assert stored == moment
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert customer.created_at.tzinfo is not None
    assert abs(customer.created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    customer = customers.create_customer(engine, "Naiwny")
    with pytest.raises(Exception, match="naive datetime"), write(engine) as conn:
        conn.execute(
            auth_links.insert().values(
                id="l2",
                customer_id=customer.id,
                created_at=datetime(2025, 1, 1),
                expires_at=datetime(2025, 1, 2),
            )
        )


def test_control_store_accepts_a_plain_postgresql_url(postgres_url: str) -> None:
    """The README documents postgresql://…; SQLAlchemy 2.1 would pick psycopg 3 for it."""
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    upgrade(plain)
    engine = make_engine(plain)
    try:
        check_schema_current(engine)
    finally:
        engine.dispose()
