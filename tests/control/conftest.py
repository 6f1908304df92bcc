"""Fixtures for the control store: one upgraded store per backend (SQLite and PostgreSQL)
and Fernet keys. Helpers that drive the simulator live in ``control_helpers.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from control_store import customers
from control_store.database import make_engine, upgrade
from control_store.token_store import TokenStore
from testing.postgres_databases import execute, temporary_database


@pytest.fixture(scope="session")
def control_pg_database() -> Iterator[str]:
    """One PostgreSQL database for this session's control-store tests (see ``control_url``)."""
    with temporary_database("aam_ctl") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty control store: a SQLite file, then a fresh PostgreSQL schema.

    PostgreSQL isolation is a new schema per test (``search_path`` in the URL) inside one
    database per session: as empty as a new database, without CREATE DATABASE per test.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'control.db'}"
        return
    database: str = request.getfixturevalue("control_pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    execute(database, f'CREATE SCHEMA "{schema}"')
    url = make_url(database).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    execute(database, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def engine(control_url: str) -> Iterator[Engine]:
    """An engine on an upgraded control store."""
    upgrade(control_url)
    engine = make_engine(control_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def token_store(engine: Engine, fernet_key: str) -> TokenStore:
    return TokenStore(engine, [fernet_key])


@pytest.fixture
def customer_id(engine: Engine) -> str:
    return customers.create_customer(engine, "Sklep Testowy").id


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with test-sized cost: the same code path, a fraction of the time."""
    from argon2 import PasswordHasher

    from control_store import users

    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
