"""Each agency account's connection and the customers it carries: what ``allegro-ads agency
list`` and the doctor show. A broken agency connection stops every customer linked to it, so
the customers are named with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from allegro_resource.token_status import TokenStatus
from control_store import agency_accounts, customers
from control_store.agency_accounts import AgencyAccount
from control_store.customers import Customer
from control_store.token_store import TokenInfo, TokenStore, token_status

NOT_CONNECTED = "not connected"
DEACTIVATED = "deactivated"
# Statuses under which the account's customers' statistics cannot be read.
BROKEN = frozenset(
    {NOT_CONNECTED, TokenStatus.NEEDS_REAUTH.value, TokenStatus.EXPIRED.value}
    | {TokenStatus.REVOKED.value}
)


@dataclass(frozen=True)
class AgencyConnection:
    """One agency account, its connection's status and the active customers linked to it."""

    account: AgencyAccount
    status: str  # a TokenStatus value, "not connected" or "deactivated"
    info: TokenInfo | None
    customers: tuple[Customer, ...]

    @property
    def broken(self) -> bool:
        """Its customers' statistics cannot be read until it is connected again."""
        return self.status in BROKEN

    @property
    def expiring(self) -> bool:
        return self.status == TokenStatus.EXPIRING.value

    def stops(self) -> str:
        """ "2 customers: A, B" (who loses statistics when this connection breaks)."""
        names = [c.name for c in self.customers]
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        count = f"{len(names)} customer{'' if len(names) == 1 else 's'}"
        return f"{count}: {shown}" if names else "no customers yet"


def agency_connections(
    engine: Engine, store: TokenStore, now: datetime, expiring_days: float
) -> list[AgencyConnection]:
    """Every agency account (by name) with its connection status and linked active customers.

    Reads no token (``TokenStore.list_info`` never decrypts), so it works with any key.
    """
    infos = {info.account_id: info for info in store.list_info()}
    linked: dict[str, list[Customer]] = {}
    for customer in customers.list_customers(engine, active_only=True):
        if customer.agency_account_id is not None:
            linked.setdefault(customer.agency_account_id, []).append(customer)
    found = []
    for account in agency_accounts.list_agency_accounts(engine):
        info = infos.get(account.id)
        if not account.active:
            status = DEACTIVATED
        elif info is None:
            status = NOT_CONNECTED
        else:
            status = token_status(info, now, expiring_days).value
        found.append(AgencyConnection(account, status, info, tuple(linked.get(account.id, ()))))
    return found
