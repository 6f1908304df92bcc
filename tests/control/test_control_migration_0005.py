"""Upgrading a control store written by schema 0004 keeps every row (agency accounts, clients,
customers, portfolios, tokens, links) and adds what alerts and report e-mails need: a contact
address per customer, an alert address per portfolio (both empty at first), the alert states and
the report sends, usable at once; the upgraded store has the schema module's schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, Table, select

from control_store import alert_states, customers, portfolios, report_sends
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
    oauth_tokens,
    users,
)
from control_store.schema import customers as customers_table
from control_store.schema import portfolios as portfolios_table
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

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

PORTFOLIOS = [{"id": "p_moda0000001", "name": "Moda", "created_at": T0}]
CUSTOMERS = [linked_customer(T0, "p_moda0000001")]
CLIENTS = [linked_client(T0)]


@pytest.fixture
def old_store(control_url: str) -> Iterator[tuple[Engine, str]]:
    """A control store at revision 0004 with a portfolio, an agency account, its client, a linked
    customer in the portfolio, an agency and a sales connection, a user and a link."""
    key = Fernet.generate_key().decode()
    cipher = TokenCipher([key])
    engine = store_at(control_url, "0004")
    # Columns this revision adds are not in 0004's tables: insert only the old ones.
    old_customers = customers_table.c.keys()
    old_customers.remove("contact_email")
    old_portfolios = portfolios_table.c.keys()
    old_portfolios.remove("alert_email")
    with write(engine) as conn:
        conn.execute(
            portfolios_table.insert().values(
                [{k: row[k] for k in old_portfolios} for row in PORTFOLIOS]
            )
        )
        conn.execute(agency_accounts.insert(), main_agency(T0))
        conn.execute(
            customers_table.insert().values(
                [{k: row[k] for k in old_customers} for row in CUSTOMERS]
            )
        )
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
    assert current_revision(engine) == "0004"
    yield engine, key
    engine.dispose()


def _rows(engine: Engine, table: Table, *, without: str = "") -> list[dict[str, Any]]:
    key = list(table.primary_key.columns)
    columns = [column for column in table.c if column.name != without]
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(*columns).order_by(*key))]


def test_upgrading_keeps_every_row(old_store: tuple[Engine, str]) -> None:
    engine, _key = old_store
    unchanged = (agency_accounts, agency_clients, users, auth_links, oauth_tokens)
    before = {table.name: _rows(engine, table) for table in unchanged}
    before_customers = _rows(engine, customers_table, without="contact_email")
    before_portfolios = _rows(engine, portfolios_table, without="alert_email")
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0005"
    for table in unchanged:
        assert _rows(engine, table) == before[table.name], table.name
    assert _rows(engine, customers_table, without="contact_email") == before_customers
    assert _rows(engine, portfolios_table, without="alert_email") == before_portfolios


def test_existing_customers_and_portfolios_have_no_address_until_one_is_set(
    old_store: tuple[Engine, str],
) -> None:
    engine, _key = old_store
    upgrade(engine)
    assert customers.find_customer(engine, "c_linked0001").contact_email is None
    assert portfolios.list_portfolios(engine)[0].alert_email is None
    updated = customers.set_contact_email(engine, "Sklep Powiązany", " Kontakt@Sklep.PL ")
    assert updated.contact_email == "kontakt@sklep.pl"
    moda = portfolios.set_alert_email(engine, "Moda", "moda-alerty@agency.test")
    assert moda.alert_email == "moda-alerty@agency.test"


def test_tokens_still_decrypt_after_the_upgrade(old_store: tuple[Engine, str]) -> None:
    engine, key = old_store
    upgrade(engine)
    store = TokenStore(engine, [key])
    for account_id in ("ag_main000001", "c_linked0001"):
        stored = store.read(account_id)
        assert stored is not None and stored.access_token == f"ACCESS-{account_id}"


def test_an_upgraded_store_records_alerts_and_report_sends_at_once(
    old_store: tuple[Engine, str],
) -> None:
    engine, _key = old_store
    upgrade(engine)
    pending = alert_states.record_conditions(
        engine, {"sales_reauth:c_linked0001": "Sklep Powiązany needs re-authorisation"}, T0
    )
    assert [alert.key for alert in pending] == ["sales_reauth:c_linked0001"]
    week = (date(2026, 11, 2), date(2026, 11, 8))
    assert report_sends.record_report_send(
        engine, "c_linked0001", "weekly", *week, ["staff@agency.test"], T0
    )
    assert not report_sends.record_report_send(
        engine, "c_linked0001", "weekly", *week, ["staff@agency.test"], T0
    )


def test_an_upgraded_store_has_exactly_the_schema_module_schema(
    old_store: tuple[Engine, str],
) -> None:
    engine, _key = old_store
    upgrade(engine)
    assert schema_differences(engine) == []
