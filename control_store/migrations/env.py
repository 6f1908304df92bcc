"""Alembic environment: configured in code by ``control_store.database`` (no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``; a URL in the
``sqlalchemy.url`` option works too (e.g. for ``alembic revision --autogenerate`` by hand).
"""

from __future__ import annotations

from alembic import context

from control_store.database import (
    check_sqlite_foreign_keys,
    make_engine,
    set_sqlite_foreign_keys,
)
from control_store.schema import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER in later revisions
        compare_type=True,
        transactional_ddl=True,  # one transaction per upgrade, on SQLite too (we emit BEGIN)
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":  # type: ignore[attr-defined]
            # database.upgrade turned foreign keys off for the batch copies: check them here.
            check_sqlite_foreign_keys(connection)  # type: ignore[arg-type]


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection or sqlalchemy.url given to the control-store migrations")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":  # as database.upgrade does: see there
                set_sqlite_foreign_keys(conn, enabled=False)
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError(
        "offline (SQL script) migrations are not supported; run allegro-ads db upgrade"
    )
run_migrations()
