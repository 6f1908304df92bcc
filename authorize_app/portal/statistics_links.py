"""How each customer's statistics are reached, for the pages: its agency client (listed or
removed from the agency's list) and the agency account's connection; and each agency account's
connection with the customers it serves.

Read once per page (two queries), whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from allegro_resource.token_status import TokenStatus
from authorize_app.portal.connection_state import (
    NOT_CONNECTED,
    ORDER,
    ConnectionState,
    connection_state,
)
from control_store.account_kind import AccountKind
from control_store.agency_accounts import AgencyAccount, list_agency_accounts
from control_store.agency_clients import AgencyClient
from control_store.customers import Customer
from control_store.schema import agency_clients
from control_store.token_store import TokenInfo
from services.control import Control

ACCESS_REMOVED = (
    "access removed in Allegro Ads: ask the seller to accept the agency's request again"
)
# An agency connection in these states reads nothing (expiring still works: not urgent yet).
UNUSABLE = frozenset(
    {
        TokenStatus.NEEDS_REAUTH.value,
        TokenStatus.REVOKED.value,
        TokenStatus.EXPIRED.value,
        NOT_CONNECTED,
    }
)
NO_CLIENT_LINK = (
    "not linked to an agency client: adopt or link its client on the Agency clients page"
)


@dataclass(frozen=True, slots=True)
class AgencyRow:
    """An agency account on the board: its connection and the customers it reads for."""

    account: AgencyAccount
    connection: ConnectionState
    customers: list[Customer]  # active customers linked to it (the visible ones)

    @property
    def broken(self) -> bool:
        """True when its customers' statistics cannot be read: the most urgent kind of row."""
        return self.account.active and self.connection.key in UNUSABLE


@dataclass(frozen=True, slots=True)
class StatisticsLink:
    """Where a customer's statistics come from, and why they cannot, if they cannot."""

    account: AgencyAccount | None
    client: AgencyClient | None
    agency_broken: bool

    @property
    def problem(self) -> str | None:
        if self.account is None:
            return NO_CLIENT_LINK
        if self.client is not None and self.client.removed:
            return ACCESS_REMOVED
        if self.agency_broken:
            return f"agency account {self.account.name} must be reconnected"
        return None

    @property
    def access_removed(self) -> bool:
        return self.client is not None and self.client.removed


def clients_by_customer(engine: Engine) -> dict[str, AgencyClient]:
    """Every adopted agency client, by its customer's id."""
    stmt = select(agency_clients).where(agency_clients.c.customer_id.is_not(None))
    with engine.connect() as conn:
        return {
            str(row.customer_id): AgencyClient(**dict(row._mapping)) for row in conn.execute(stmt)
        }


def agency_rows(
    control: Control, visible: Iterable[Customer], infos: Mapping[str, TokenInfo]
) -> list[AgencyRow]:
    """Every agency account, broken connections that stop customers first, each naming the
    visible active customers it serves."""
    now = datetime.now(UTC)
    expiring = control.settings.expiring_days
    served: dict[str, list[Customer]] = {}
    for customer in visible:
        if customer.active and customer.agency_account_id:
            served.setdefault(customer.agency_account_id, []).append(customer)
    rows = [
        AgencyRow(
            account,
            connection_state(infos.get(account.id), now, expiring),
            served.get(account.id, []),
        )
        for account in list_agency_accounts(control.engine)
    ]
    # Broken and stopping customers first, the worst status first; then by name.
    rows.sort(
        key=lambda r: (
            not r.broken,
            not r.customers,
            not r.account.active,
            ORDER.index(r.connection.key),
            r.account.name.casefold(),
        )
    )
    return rows


def statistics_links(
    control: Control, customers: Iterable[Customer], infos: Mapping[str, TokenInfo]
) -> dict[str, StatisticsLink]:
    """Each customer's statistics link (by customer id)."""
    accounts = {a.id: a for a in list_agency_accounts(control.engine)}
    clients = clients_by_customer(control.engine)
    now = datetime.now(UTC)
    expiring = control.settings.expiring_days
    broken = {
        account_id: connection_state(infos.get(account_id), now, expiring).key in UNUSABLE
        for account_id in accounts
    }
    return {
        c.id: StatisticsLink(
            accounts.get(c.agency_account_id) if c.agency_account_id else None,
            clients.get(c.id),
            broken.get(c.agency_account_id or "", False),
        )
        for c in customers
    }


def token_infos(control: Control) -> dict[str, TokenInfo]:
    """Every stored connection (agency and sales), by account id."""
    return {info.account_id: info for info in control.tokens.list_info()}


def agency_infos(control: Control) -> dict[str, TokenInfo]:
    return {i.account_id: i for i in control.tokens.list_info(AccountKind.AGENCY)}
