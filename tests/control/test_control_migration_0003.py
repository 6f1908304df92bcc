"""Upgrading a control store written by schema 0002 (before agency accounts) keeps every row:
customers, their tokens (still decrypting, statuses kept, now sales connections), links and
the API-call log; the upgraded store has exactly the schema module's schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, select
from sqlalchemy.exc import IntegrityError

from allegro_resource.token_status import TokenStatus
from control_store.account_kind import AccountKind
from control_store.database import (
    current_revision,
    head_revision,
    upgrade,
    write,
)
from control_store.schema import (
    UTCDateTime,
    api_calls,
    auth_links,
    customers,
    oauth_tokens,
    portfolios,
)
from control_store.token_cipher import TokenCipher
from control_store.token_store import TokenStore
from tests.control.migration_helpers import schema_differences, store_at, used_link

T0 = datetime(2025, 2, 10, 9, 30, tzinfo=UTC)

# oauth_tokens as revision 0002 has it (the schema module describes the new one).
_old = MetaData()
old_oauth_tokens = Table(
    "oauth_tokens",
    _old,
    Column("customer_id", String(32), primary_key=True),
    Column("access_token_enc", Text),
    Column("refresh_token_enc", Text),
    Column("expires_at", UTCDateTime()),
    Column("refresh_expires_at", UTCDateTime()),
    Column("scope", Text),
    Column("status", String(16)),
    Column("connected_at", UTCDateTime()),
    Column("last_refresh_at", UTCDateTime()),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime()),
    Column("version", Integer),
)

CUSTOMERS: list[dict[str, Any]] = [
    {
        "id": "c_connected01",
        "name": "Sklep Połączony",
        "allegro_login": "seller01",
        "allegro_user_id": "u-1",
        "ads_client_id": "client-1",
        "portfolio_id": "p_north00001",
        "currency": "PLN",
        "active": True,
        "created_at": T0,
    },
    {
        "id": "c_reauth0002",
        "name": "Sklep Do Ponowienia",
        "allegro_login": "seller02",
        "allegro_user_id": "u-2",
        "ads_client_id": "client-2",
        "portfolio_id": None,
        "currency": "EUR",
        "active": True,
        "created_at": T0 + timedelta(minutes=1),
    },
    {
        "id": "c_revoked003",
        "name": "Sklep Odwołany",
        "allegro_login": "seller03",
        "allegro_user_id": "u-3",
        "ads_client_id": "client-3",
        "portfolio_id": None,
        "currency": "PLN",
        "active": False,
        "created_at": T0 + timedelta(minutes=2),
    },
    {
        "id": "c_neverconn4",
        "name": "Sklep Bez Zgody",
        "allegro_login": None,
        "allegro_user_id": None,
        "ads_client_id": None,
        "portfolio_id": None,
        "currency": "PLN",
        "active": True,
        "created_at": T0 + timedelta(minutes=3),
    },
]


def _token_row(cipher: TokenCipher, customer_id: str, status: str, n: int) -> dict[str, Any]:
    revoked = status == TokenStatus.REVOKED.value
    return {
        "customer_id": customer_id,
        "access_token_enc": "" if revoked else cipher.encrypt(f"ACCESS-{customer_id}"),
        "refresh_token_enc": "" if revoked else cipher.encrypt(f"REFRESH-{customer_id}"),
        "expires_at": T0 + timedelta(hours=12),
        "refresh_expires_at": T0 + timedelta(days=90),
        "scope": "allegro:api:ads",
        "status": status,
        "connected_at": T0,
        "last_refresh_at": T0 + timedelta(hours=n),
        "last_error": None if status == "connected" else f"invalid_grant: reason {n}",
        "updated_at": T0 + timedelta(hours=n),
        "version": 3 + n,
    }


LINKS = [
    used_link("c_connected01", T0),
    {
        "id": "link-open",
        "customer_id": "c_neverconn4",
        "created_by": None,
        "created_at": T0,
        "expires_at": T0 + timedelta(days=3),
        "used_at": None,
        "revoked_at": None,
    },
]

CALLS = [
    {
        "id": n + 1,
        "ts": T0 + timedelta(seconds=n),
        "customer_id": customer_id,
        "method": "GET",
        "endpoint": "/ads/clients",
        "status": status,
        "duration_ms": 10 + n,
        "rows": n,
        "trace_id": f"trace-{n}",
        "error": None if status == 200 else "refused",
        "attempt": 1,
        "run_id": "run-1",
    }
    for n, (customer_id, status) in enumerate(
        [("c_connected01", 200), ("c_reauth0002", 401), (None, 200)]
    )
]


@pytest.fixture
def old_store(control_url: str) -> Iterator[tuple[Engine, str]]:
    """A control store at revision 0002 with customers, tokens, links and API calls."""
    key = Fernet.generate_key().decode()
    cipher = TokenCipher([key])
    engine = store_at(control_url, "0002")
    with write(engine) as conn:
        conn.execute(portfolios.insert().values(id="p_north00001", name="Północ", created_at=T0))
        conn.execute(customers.insert(), CUSTOMERS)
        conn.execute(
            old_oauth_tokens.insert(),
            [
                _token_row(cipher, "c_connected01", "connected", 1),
                _token_row(cipher, "c_reauth0002", "needs_reauth", 2),
                _token_row(cipher, "c_revoked003", "revoked", 3),
            ],
        )
        conn.execute(auth_links.insert(), LINKS)
        conn.execute(api_calls.insert(), CALLS)
    assert current_revision(engine) == "0002"
    yield engine, key
    engine.dispose()


def _rows(engine: Engine, table: Table, order: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(table).order_by(order))]


def test_upgrading_keeps_every_customer_with_no_agency_account_yet(
    old_store: tuple[Engine, str],
) -> None:
    engine, _key = old_store
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    # Later revisions' columns start empty too (0005: the contact address).
    expected = [row | {"agency_account_id": None, "contact_email": None} for row in CUSTOMERS]
    assert _rows(engine, customers, customers.c.id) == sorted(expected, key=lambda r: r["id"])


def test_upgrading_keeps_every_token_as_a_sales_connection_that_still_decrypts(
    old_store: tuple[Engine, str],
) -> None:
    engine, key = old_store
    before = {
        row["customer_id"]: row
        for row in _rows(engine, old_oauth_tokens, old_oauth_tokens.c.customer_id)
    }
    upgrade(engine)

    after = {row["account_id"]: row for row in _rows(engine, oauth_tokens, "account_id")}
    assert set(after) == set(before)
    for account_id, old in before.items():
        new = dict(after[account_id])
        assert new.pop("account_kind") == AccountKind.SALES.value
        assert new.pop("account_id") == old["customer_id"]
        assert new == {k: v for k, v in old.items() if k != "customer_id"}

    store = TokenStore(engine, [key])
    for account_id in ("c_connected01", "c_reauth0002"):
        stored = store.read(account_id)
        assert stored is not None
        assert (stored.access_token, stored.refresh_token) == (
            f"ACCESS-{account_id}",
            f"REFRESH-{account_id}",
        )
    infos = {info.account_id: info for info in store.list_info()}
    assert {i: (info.kind, info.status) for i, info in infos.items()} == {
        "c_connected01": (AccountKind.SALES, "connected"),
        "c_reauth0002": (AccountKind.SALES, "needs_reauth"),
        "c_revoked003": (AccountKind.SALES, "revoked"),
    }
    assert infos["c_reauth0002"].account_name == "Sklep Do Ponowienia"
    assert infos["c_reauth0002"].allegro_login == "seller02"


def test_upgrading_keeps_links_and_the_api_call_log(old_store: tuple[Engine, str]) -> None:
    engine, _key = old_store
    upgrade(engine)
    assert _rows(engine, auth_links, auth_links.c.id) == sorted(LINKS, key=lambda r: r["id"])
    assert _rows(engine, api_calls, api_calls.c.id) == CALLS


def test_an_upgraded_store_has_exactly_the_schema_module_schema(
    old_store: tuple[Engine, str],
) -> None:
    engine, _key = old_store
    upgrade(engine)
    assert schema_differences(engine) == []


def test_an_upgraded_store_refuses_an_unknown_account_kind(old_store: tuple[Engine, str]) -> None:
    engine, _key = old_store
    upgrade(engine)
    row = _token_row(TokenCipher([Fernet.generate_key().decode()]), "x", "connected", 0)
    row = {("account_id" if k == "customer_id" else k): v for k, v in row.items()}
    with pytest.raises(IntegrityError), write(engine) as conn:
        conn.execute(oauth_tokens.insert().values(account_kind="partner", **row))
    with engine.connect() as conn:
        assert conn.execute(select(oauth_tokens.c.account_id)).scalars().all() == [
            "c_connected01",
            "c_reauth0002",
            "c_revoked003",
        ]
