"""Upgrading a control store written by schema 0003 (agency accounts, before the portal's agency
sign-in) keeps every row (agency accounts, clients, customers, both kinds of tokens, links) and
adds ``agency_oauth_states``, usable at once; the upgraded store has the schema module's schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, Table, inspect, select

from control_store import agency_oauth_states
from control_store.database import (
    current_revision,
    head_revision,
    upgrade,
    write,
)
from control_store.schema import (
    agency_accounts,
    agency_clients,
    auth_links,
    customers,
    metadata,
    oauth_tokens,
    users,
)
from control_store.token_cipher import TokenCipher
from control_store.token_store import TokenStore
from tests.control.migration_helpers import (
    admin_user,
    connection,
    linked_client,
    linked_customer,
    main_agency,
    schema_differences,
    store_at,
    used_link,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

CUSTOMERS = [linked_customer(T0, None)]
CLIENTS = [
    linked_client(T0),
    {
        "agency_account_id": "ag_main000001",
        "client_id": "client-2",
        "name": "Sklep Odszedł",
        "first_seen_at": T0,
        "last_seen_at": T0,
        "removed_at": T0 + timedelta(days=1),
        "customer_id": None,
    },
]


@pytest.fixture
def old_store(control_url: str) -> Iterator[tuple[Engine, str]]:
    """A control store at revision 0003 with an agency account, its clients, a linked customer,
    an agency and a sales connection, a user and a link."""
    key = Fernet.generate_key().decode()
    cipher = TokenCipher([key])
    engine = store_at(control_url, "0003")
    with write(engine) as conn:
        conn.execute(agency_accounts.insert(), main_agency(T0))
        conn.execute(customers.insert(), CUSTOMERS)
        conn.execute(agency_clients.insert(), CLIENTS)
        conn.execute(users.insert(), admin_user(T0))
        conn.execute(auth_links.insert(), used_link("c_linked0001", T0))
        conn.execute(
            oauth_tokens.insert(),
            [
                connection(cipher, "ag_main000001", "agency", T0),
                connection(cipher, "c_linked0001", "sales", T0),
            ],
        )
    assert current_revision(engine) == "0003"
    yield engine, key
    engine.dispose()


def _rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    """The table's rows, in the columns 0004 has (later revisions add some)."""
    key = list(table.primary_key.columns)
    with engine.connect() as conn:
        present = {column["name"] for column in inspect(conn).get_columns(table.name)}
        columns = [column for column in table.c if column.name in present & _COLUMNS_0004]
        return [dict(row._mapping) for row in conn.execute(select(*columns).order_by(*key))]


_LATER_COLUMNS = {"contact_email", "alert_email"}  # added by 0005
_COLUMNS_0004 = {column.name for table in metadata.tables.values() for column in table.c} - (
    _LATER_COLUMNS
)


def test_upgrading_keeps_every_row(old_store: tuple[Engine, str]) -> None:
    engine, _key = old_store
    before = {t.name: _rows(engine, t) for t in (agency_accounts, customers, agency_clients, users)}
    before["auth_links"] = _rows(engine, auth_links)
    before["oauth_tokens"] = _rows(engine, oauth_tokens)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    for table in (agency_accounts, customers, agency_clients, users, auth_links, oauth_tokens):
        assert _rows(engine, table) == before[table.name], table.name


def test_tokens_still_decrypt_after_the_upgrade(old_store: tuple[Engine, str]) -> None:
    engine, key = old_store
    upgrade(engine)
    store = TokenStore(engine, [key])
    for account_id in ("ag_main000001", "c_linked0001"):
        stored = store.read(account_id)
        assert stored is not None and stored.access_token == f"ACCESS-{account_id}"


def test_an_upgraded_store_takes_an_agency_sign_in_at_once(old_store: tuple[Engine, str]) -> None:
    engine, key = old_store
    upgrade(engine)
    cipher = TokenCipher([key])
    state = agency_oauth_states.create_agency_state(
        engine, cipher, "ag_main000001", "u_admin00001", "verifier-" + "v" * 40
    )
    assert agency_oauth_states.is_agency_state(engine, state)
    consumed = agency_oauth_states.consume_agency_state(engine, cipher, state, "u_admin00001")
    assert consumed.agency_account_id == "ag_main000001"
    assert consumed.code_verifier == "verifier-" + "v" * 40


def test_an_upgraded_store_has_exactly_the_schema_module_schema(
    old_store: tuple[Engine, str],
) -> None:
    engine, _key = old_store
    upgrade(engine)
    assert schema_differences(engine) == []
