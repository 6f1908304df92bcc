"""Fixtures for the control store: one upgraded store per backend (SQLite and PostgreSQL)
and Fernet keys. Helpers that drive the simulator live in ``control_helpers.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from warehouse import customers
from warehouse.control_db import make_engine, upgrade
from warehouse.token_store import TokenStore


@pytest.fixture(params=["sqlite", "postgres"])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty control store: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'control.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


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

    from warehouse import users

    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
