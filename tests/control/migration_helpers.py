"""What the migration tests share: a control store stopped at an old revision, the rows every
revision since 0003 stores alike (the main agency account, an admin, a used link, a connection),
and how far an upgraded store is from the schema module's schema."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from control_store.database import _alembic_config, make_engine
from control_store.schema import metadata
from control_store.token_cipher import TokenCipher


def store_at(control_url: str, revision: str) -> Engine:
    """An engine on the control store at ``control_url``, migrated up to ``revision`` only."""
    engine = make_engine(control_url)
    with engine.connect() as conn:
        command.upgrade(_alembic_config(conn), revision)
        conn.commit()
    return engine


def schema_differences(engine: Engine) -> list[Any]:
    """What the store's schema lacks or has beyond the schema module's (types compared too)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def main_agency(at: datetime) -> dict[str, Any]:
    return {
        "id": "ag_main000001",
        "name": "Agencja Główna",
        "allegro_user_id": "900",
        "allegro_login": "agency",
        "active": True,
        "created_at": at,
    }


def admin_user(at: datetime) -> dict[str, Any]:
    return {
        "id": "u_admin00001",
        "email": "admin@agency.test",
        "password_hash": "x",
        "role": "admin",
        "active": True,
        "created_at": at,
    }


def used_link(customer_id: str, at: datetime) -> dict[str, Any]:
    """A consent link made by the CLI at ``at`` and used an hour later."""
    return {
        "id": "link-used",
        "customer_id": customer_id,
        "created_by": "cli:anna",
        "created_at": at,
        "expires_at": at + timedelta(days=3),
        "used_at": at + timedelta(hours=1),
        "revoked_at": None,
    }


def connection(cipher: TokenCipher, account_id: str, kind: str, at: datetime) -> dict[str, Any]:
    """An ``oauth_tokens`` row (0003 on) of a connected account, tokens encrypted by ``cipher``."""
    return {
        "account_id": account_id,
        "account_kind": kind,
        "access_token_enc": cipher.encrypt(f"ACCESS-{account_id}"),
        "refresh_token_enc": cipher.encrypt(f"REFRESH-{account_id}"),
        "expires_at": at + timedelta(hours=12),
        "refresh_expires_at": at + timedelta(days=90),
        "scope": "allegro:api:ads",
        "status": "connected",
        "connected_at": at,
        "last_refresh_at": None,
        "last_error": None,
        "updated_at": at,
        "version": 2,
    }


def linked_customer(at: datetime, portfolio_id: str | None) -> dict[str, Any]:
    """A customer (0003 columns) linked to the main agency's client-1."""
    return {
        "id": "c_linked0001",
        "name": "Sklep Powiązany",
        "allegro_login": "seller01",
        "allegro_user_id": "u-1",
        "ads_client_id": "client-1",
        "agency_account_id": "ag_main000001",
        "portfolio_id": portfolio_id,
        "currency": "PLN",
        "active": True,
        "created_at": at,
    }


def linked_client(at: datetime) -> dict[str, Any]:
    """The main agency's client-1, seen for a day and linked to the customer."""
    return {
        "agency_account_id": "ag_main000001",
        "client_id": "client-1",
        "name": "Sklep Powiązany",
        "first_seen_at": at,
        "last_seen_at": at + timedelta(days=1),
        "removed_at": None,
        "customer_id": "c_linked0001",
    }
