"""Each agency account's clients as ``/advertising-agencies/clients`` listed them, and the
customer adopting each (the customer's statistics link).

A listing is recorded whole: clients not seen before are new (ready for adoption), clients that
left the list are marked removed (their customers' statistics will be refused until the seller
accepts the agency's request again) and unmarked when they come back. Customers from before
agency accounts, whose ``ads_client_id`` shows up in a listing, are linked on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, update

from control_store.customers import (
    Customer,
    create_customer_in,
    find_customer,
    get_customer,
    set_statistics_link_in,
)
from control_store.database import Conflict, NotFound, write
from control_store.schema import agency_accounts, agency_clients, customers

_MAX_ID = 100
_MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class AgencyClient:
    agency_account_id: str
    client_id: str  # the {clientId} of the statistics path
    name: str
    first_seen_at: datetime
    last_seen_at: datetime
    removed_at: datetime | None  # when it left the list; None while listed
    customer_id: str | None  # the customer adopting it

    @property
    def removed(self) -> bool:
        return self.removed_at is not None


@dataclass(frozen=True, slots=True)
class ListingChanges:
    """What one listing changed; clients are as stored after it."""

    new: tuple[AgencyClient, ...]
    returned: tuple[AgencyClient, ...]  # listed again after having been removed
    removed: tuple[AgencyClient, ...]  # listed before, absent now
    linked: tuple[AgencyClient, ...]  # an existing customer's ads_client_id matched it


def _client(row: Row[Any]) -> AgencyClient:
    return AgencyClient(**dict(row._mapping))


def _clean_listing(clients: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Client id -> name, validated before anything is written (last name wins on repeats)."""
    cleaned: dict[str, str] = {}
    for entry in clients:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise ValueError(f"a listed client must be (id, name), got {entry!r}")
        client_id, name = entry
        if not isinstance(client_id, str) or not isinstance(name, str):
            raise ValueError(f"a listed client's id and name must be text, got {entry!r}")
        client_id = client_id.strip()
        if not client_id or len(client_id) > _MAX_ID:
            raise ValueError(f"an agency client id must be 1 to {_MAX_ID} characters: {entry!r}")
        # A client without a name still needs one to be shown and adopted: use its id.
        cleaned[client_id] = " ".join(name.split())[:_MAX_NAME] or client_id
    return cleaned


def record_client_listing(
    engine: Engine, agency_account_id: str, clients: Sequence[tuple[str, str]], now: datetime
) -> ListingChanges:
    """Store one complete listing of the agency account's clients, in one transaction.

    ``clients`` are (id, name) pairs. Names are updated, ``last_seen_at`` is ``now`` for every
    listed client; absent ones get ``removed_at`` (kept from the first listing they missed).
    Invalid input raises ``ValueError`` before anything is written.
    """
    listing = _clean_listing(clients)
    with write(engine) as conn:
        _lock_account(conn, agency_account_id)
        known = {
            row.client_id: row
            for row in conn.execute(
                select(agency_clients).where(
                    agency_clients.c.agency_account_id == agency_account_id
                )
            )
        }
        # Customers linked before their client was first listed (set_statistics_link).
        linked_before = dict(
            conn.execute(
                select(customers.c.ads_client_id, customers.c.id).where(
                    customers.c.agency_account_id == agency_account_id
                )
            ).all()
        )
        new_ids, returned_ids, removed_ids = [], [], []
        for client_id, name in listing.items():
            before = known.get(client_id)
            if before is None:
                new_ids.append(client_id)
                conn.execute(
                    agency_clients.insert().values(
                        agency_account_id=agency_account_id,
                        client_id=client_id,
                        name=name,
                        first_seen_at=now,
                        last_seen_at=now,
                        removed_at=None,
                        customer_id=linked_before.get(client_id),
                    )
                )
                continue
            if before.removed_at is not None:
                returned_ids.append(client_id)
            conn.execute(
                _client_update(agency_account_id, client_id).values(
                    name=name, last_seen_at=now, removed_at=None
                )
            )
        for client_id, before in known.items():
            if client_id not in listing and before.removed_at is None:
                removed_ids.append(client_id)
                conn.execute(_client_update(agency_account_id, client_id).values(removed_at=now))
        linked_ids = _link_earlier_customers(conn, agency_account_id, list(listing))
        stored = {
            row.client_id: _client(row)
            for row in conn.execute(
                select(agency_clients).where(
                    agency_clients.c.agency_account_id == agency_account_id
                )
            )
        }
    return ListingChanges(
        new=tuple(stored[i] for i in new_ids),
        returned=tuple(stored[i] for i in returned_ids),
        removed=tuple(stored[i] for i in removed_ids),
        linked=tuple(stored[i] for i in linked_ids),
    )


def _link_earlier_customers(
    conn: Connection, agency_account_id: str, listed: list[str]
) -> list[str]:
    """Link customers from before agency accounts (an ``ads_client_id``, no agency account) to
    the listed client of that id, if it has no customer yet; returns the linked client ids."""
    if not listed:
        return []
    candidates = conn.execute(
        select(customers.c.id, customers.c.ads_client_id).where(
            customers.c.agency_account_id.is_(None), customers.c.ads_client_id.in_(listed)
        )
    ).all()
    by_client: dict[str, list[str]] = {}
    for customer_id, client_id in candidates:
        by_client.setdefault(client_id, []).append(customer_id)
    linked: list[str] = []
    for client_id, customer_ids in sorted(by_client.items()):
        if len(customer_ids) != 1:
            continue  # ambiguous: two old customers claim the client; an admin decides
        taken = conn.execute(
            select(agency_clients.c.customer_id).where(
                agency_clients.c.agency_account_id == agency_account_id,
                agency_clients.c.client_id == client_id,
            )
        ).scalar()
        if taken is not None:
            continue
        try:  # checks come before any write: a refusal changes nothing
            set_statistics_link_in(conn, customer_ids[0], agency_account_id, client_id)
        except Conflict:
            continue  # someone else holds the link; the listing itself must not fail
        linked.append(client_id)
    return linked


def link_customer(
    engine: Engine, agency_account_id: str, client_id: str, customer: str
) -> Customer:
    """Link an existing customer (id or name) to a listed client of the agency account.

    ``Conflict`` if the client is already another customer's or the customer is already linked
    to another client; ``NotFound`` if the client was never listed.
    """
    found = find_customer(engine, customer)
    with write(engine) as conn:
        _refuse_removed(_listed_client(conn, agency_account_id, client_id))
        set_statistics_link_in(conn, found.id, agency_account_id, client_id)
    return find_customer(engine, found.id)


def unlink_customer(engine: Engine, customer: str) -> Customer:
    """Remove the customer's statistics link; its client becomes available for adoption."""
    found = find_customer(engine, customer)
    with write(engine) as conn:
        set_statistics_link_in(conn, found.id, None, None)
    return find_customer(engine, found.id)


def adopt_client(
    engine: Engine,
    agency_account_id: str,
    client_id: str,
    *,
    name: str | None = None,
    portfolio: str | None = None,
    currency: str = "PLN",
) -> Customer:
    """Create a customer for a listed client (named after it unless ``name`` is given) and link
    it, in one transaction: either both happen or neither."""
    with write(engine) as conn:
        client = _listed_client(conn, agency_account_id, client_id)
        if client.customer_id is not None:
            raise Conflict(
                f"client {client.name} ({client.client_id}) is already adopted as customer "
                f"{client.customer_id}; use that customer"
            )
        _refuse_removed(client)
        try:
            customer_id = create_customer_in(
                conn, name or client.name, portfolio=portfolio, currency=currency
            )
        except Conflict as exc:
            raise Conflict(
                f"{exc}: link the client to that customer instead, or adopt it under another name"
            ) from None
        set_statistics_link_in(conn, customer_id, agency_account_id, client.client_id)
    adopted = get_customer(engine, customer_id)
    assert adopted is not None
    return adopted


def clients_of(
    engine: Engine, agency_account_id: str, *, include_removed: bool = True
) -> list[AgencyClient]:
    """The agency account's clients by name."""
    stmt = (
        select(agency_clients)
        .where(agency_clients.c.agency_account_id == agency_account_id)
        .order_by(agency_clients.c.name, agency_clients.c.client_id)
    )
    if not include_removed:
        stmt = stmt.where(agency_clients.c.removed_at.is_(None))
    with engine.connect() as conn:
        return [_client(row) for row in conn.execute(stmt)]


def unadopted_clients(engine: Engine, agency_account_id: str | None = None) -> list[AgencyClient]:
    """Listed clients no customer adopts yet (of one agency account, or of all active ones)."""
    stmt = (
        select(agency_clients)
        .join(agency_accounts, agency_accounts.c.id == agency_clients.c.agency_account_id)
        .where(agency_clients.c.customer_id.is_(None), agency_clients.c.removed_at.is_(None))
        .order_by(agency_clients.c.agency_account_id, agency_clients.c.name)
    )
    if agency_account_id is None:
        stmt = stmt.where(agency_accounts.c.active.is_(True))
    else:
        stmt = stmt.where(agency_clients.c.agency_account_id == agency_account_id)
    with engine.connect() as conn:
        return [_client(row) for row in conn.execute(stmt)]


def client_of_customer(engine: Engine, customer_id: str) -> AgencyClient | None:
    """The listed client the customer is linked to, if any."""
    with engine.connect() as conn:
        row = conn.execute(
            select(agency_clients).where(agency_clients.c.customer_id == customer_id)
        ).first()
    return None if row is None else _client(row)


def _lock_account(conn: Connection, agency_account_id: str) -> None:
    """Serialise listings of one account (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    stmt = select(agency_accounts.c.id).where(agency_accounts.c.id == agency_account_id)
    if conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    if conn.execute(stmt).scalar() is None:
        raise NotFound(
            f"no agency account {agency_account_id}; list them with: allegro-ads agency list"
        )


def _listed_client(conn: Connection, agency_account_id: str, client_id: str) -> AgencyClient:
    row = conn.execute(
        select(agency_clients).where(
            agency_clients.c.agency_account_id == agency_account_id,
            agency_clients.c.client_id == client_id,
        )
    ).first()
    if row is None:
        raise NotFound(
            f"agency account {agency_account_id} has no client {client_id!r}; its clients are "
            "listed by the daily agency_clients run (or: allegro-ads agency clients)"
        )
    return _client(row)


def _refuse_removed(client: AgencyClient) -> None:
    if client.removed:
        raise Conflict(
            f"client {client.name} ({client.client_id}) left the agency's list: ask the seller "
            "to accept the agency's request again in Allegro Ads, then link it"
        )


def _client_update(agency_account_id: str, client_id: str) -> Any:
    return update(agency_clients).where(
        agency_clients.c.agency_account_id == agency_account_id,
        agency_clients.c.client_id == client_id,
    )
