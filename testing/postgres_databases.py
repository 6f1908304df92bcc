"""Throw-away PostgreSQL databases for tests, on the server CI has too (tests never skip)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get(
    "ALLEGRO_ADS_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def connect(url: str) -> psycopg2.extensions.connection:
    """An autocommit psycopg2 connection to ``url``."""
    parsed = make_url(url)
    conn = psycopg2.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
    )
    conn.autocommit = True
    return conn


def execute(url: str, sql: str) -> None:
    """Run one statement on ``url`` in autocommit."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@contextmanager
def temporary_database(prefix: str = "aam_test") -> Iterator[str]:
    """A new, empty database (its SQLAlchemy URL), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    execute(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    finally:
        execute(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def lock_waiters(url: str, query_contains: str) -> list[tuple[int, list[int]]]:
    """The backends of ``url``'s database that wait for a lock (``pg_stat_activity``'s
    ``wait_event_type = 'Lock'``) in a statement containing ``query_contains``: each backend's
    pid with the pids of the backends holding what it waits for."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid() AND strpos(query, %s) > 0",
                (query_contains,),
            )
            return [(int(pid), [int(b) for b in blockers]) for pid, blockers in cur.fetchall()]
    finally:
        conn.close()
