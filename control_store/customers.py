"""The agency's customers, identified by a short random id (``c_…``).

A customer is reported on through its statistics link: an agency account and one of its
clients (``agency_account_id`` + ``ads_client_id``). Its own sales account (``allegro_login``,
``allegro_user_id``), bound by its consent, serves seller data only.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, or_, select, update
from sqlalchemy.exc import IntegrityError

from control_store.database import Conflict, NotFound, short_id, write
from control_store.portfolios import find_portfolio_in, portfolio_ids_of
from control_store.schema import agency_accounts, agency_clients, customers, portfolios
from control_store.users import User, normalise_email

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    allegro_login: str | None
    allegro_user_id: str | None
    ads_client_id: str | None  # the agency client id within agency_account_id
    portfolio_id: str | None
    portfolio_name: str | None
    currency: str
    active: bool
    created_at: datetime
    agency_account_id: str | None
    contact_email: str | None = None  # where consent links (and reports, if asked) go

    @property
    def has_statistics_link(self) -> bool:
        """Linked to an agency client: its statistics can be read with the agency's token."""
        return self.agency_account_id is not None and self.ads_client_id is not None


def _select() -> Select[Any]:
    return select(customers, portfolios.c.name.label("portfolio_name")).outerjoin(
        portfolios, portfolios.c.id == customers.c.portfolio_id
    )


def _customer(row: Row[Any]) -> Customer:
    return Customer(**dict(row._mapping))


def create_customer(
    engine: Engine, name: str, *, portfolio: str | None = None, currency: str = "PLN"
) -> Customer:
    """A new active customer; names are unique. ``portfolio`` is an id or a name."""
    try:
        with write(engine) as conn:
            customer_id = create_customer_in(conn, name, portfolio=portfolio, currency=currency)
    except IntegrityError:
        raise Conflict(f"a customer named {' '.join(name.split())!r} already exists") from None
    created = get_customer(engine, customer_id)
    assert created is not None
    return created


def create_customer_in(
    conn: Connection, name: str, *, portfolio: str | None = None, currency: str = "PLN"
) -> str:
    """``create_customer`` inside the caller's write transaction; returns the new id."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValueError("a customer name must be 1 to 200 characters")
    currency = currency.strip().upper()
    if not _CURRENCY.match(currency):
        raise ValueError(f"{currency!r} is not a three-letter currency code such as PLN")
    customer_id = short_id("c_")
    _refuse_duplicate(conn, name)
    portfolio_id = find_portfolio_in(conn, portfolio).id if portfolio else None
    conn.execute(
        customers.insert().values(
            id=customer_id,
            name=name,
            portfolio_id=portfolio_id,
            currency=currency,
            active=True,
            created_at=datetime.now(UTC),
        )
    )
    return customer_id


def _refuse_duplicate(conn: Connection, name: str) -> None:
    existing = conn.execute(select(customers.c.id).where(customers.c.name == name)).scalar()
    if existing is not None:
        raise Conflict(f"a customer named {name!r} already exists ({existing})")


def get_customer(engine: Engine, customer_id: str) -> Customer | None:
    with engine.connect() as conn:
        row = conn.execute(_select().where(customers.c.id == customer_id)).first()
    return None if row is None else _customer(row)


def find_customer(engine: Engine, id_or_name: str) -> Customer:
    """The customer with this id or (exact) name, else ``NotFound``."""
    with engine.connect() as conn:
        row = conn.execute(
            _select().where(or_(customers.c.id == id_or_name, customers.c.name == id_or_name))
        ).first()
    if row is None:
        raise NotFound(f"no customer {id_or_name!r}; list them with: allegro-ads customers list")
    return _customer(row)


def list_customers(
    engine: Engine, *, active_only: bool = False, portfolio_ids: Collection[str] | None = None
) -> list[Customer]:
    """Customers by name; ``portfolio_ids`` limits to those portfolios (a viewer's view)."""
    stmt = _select().order_by(customers.c.name)
    if active_only:
        stmt = stmt.where(customers.c.active.is_(True))
    if portfolio_ids is not None:
        stmt = stmt.where(customers.c.portfolio_id.in_(list(portfolio_ids)))
    with engine.connect() as conn:
        return [_customer(row) for row in conn.execute(stmt)]


def deactivate_customer(engine: Engine, id_or_name: str) -> Customer:
    """Stop pulling data for the customer; their history and tokens stay."""
    customer = find_customer(engine, id_or_name)
    with write(engine) as conn:
        conn.execute(update(customers).where(customers.c.id == customer.id).values(active=False))
    return find_customer(engine, customer.id)


def assign_portfolio(engine: Engine, id_or_name: str, portfolio: str | None) -> Customer:
    """Put the customer in a portfolio (id or name), or in none with ``None``."""
    customer = find_customer(engine, id_or_name)
    with write(engine) as conn:
        portfolio_id = find_portfolio_in(conn, portfolio).id if portfolio else None
        conn.execute(
            update(customers).where(customers.c.id == customer.id).values(portfolio_id=portfolio_id)
        )
    return find_customer(engine, customer.id)


def visible_to(engine: Engine, user: User, *, active_only: bool = False) -> list[Customer]:
    """The customers a portal user may see: all for admins, their portfolios' for viewers."""
    if user.is_admin:
        return list_customers(engine, active_only=active_only)
    return list_customers(
        engine, active_only=active_only, portfolio_ids=portfolio_ids_of(engine, user.id)
    )


def set_contact_email(engine: Engine, id_or_name: str, email: str | None) -> Customer:
    """Set the customer's contact address (consent links are e-mailed there); ``None`` or an
    empty string clears it. ``ValueError`` for what is not an address."""
    customer = find_customer(engine, id_or_name)
    address = normalise_email(email) if email and email.strip() else None
    with write(engine) as conn:
        conn.execute(
            update(customers).where(customers.c.id == customer.id).values(contact_email=address)
        )
    return find_customer(engine, customer.id)


def set_statistics_link(
    engine: Engine, id_or_name: str, agency_account_id: str | None, ads_client_id: str | None
) -> Customer:
    """Link the customer to an agency account's client (both given) or unlink it (both None).

    The client's row in ``agency_clients``, when it has been listed, records the link too.
    ``Conflict`` if the client is another customer's or this customer is linked to another
    client (unlink first); nothing changes then.
    """
    customer = find_customer(engine, id_or_name)
    with write(engine) as conn:
        set_statistics_link_in(conn, customer.id, agency_account_id, ads_client_id)
    return find_customer(engine, customer.id)


def set_statistics_link_in(
    conn: Connection, customer_id: str, agency_account_id: str | None, ads_client_id: str | None
) -> None:
    """``set_statistics_link`` inside the caller's write transaction."""
    if agency_account_id is None and ads_client_id is None:
        conn.execute(
            update(customers)
            .where(customers.c.id == customer_id)
            .values(agency_account_id=None, ads_client_id=None)
        )
        conn.execute(
            update(agency_clients)
            .where(agency_clients.c.customer_id == customer_id)
            .values(customer_id=None)
        )
        return
    if agency_account_id is None or ads_client_id is None:
        raise ValueError("a statistics link needs both the agency account and the client id")
    client_id = ads_client_id.strip()
    if not client_id or len(client_id) > 100:
        raise ValueError("an agency client id must be 1 to 100 characters")
    agency = conn.execute(
        select(agency_accounts.c.id, agency_accounts.c.name).where(
            agency_accounts.c.id == agency_account_id
        )
    ).first()
    if agency is None:
        raise NotFound(
            f"no agency account {agency_account_id}; list them with: allegro-ads agency list"
        )
    this = conn.execute(
        select(customers.c.name, customers.c.agency_account_id, customers.c.ads_client_id).where(
            customers.c.id == customer_id
        )
    ).first()
    if this is None:
        raise NotFound(f"no customer {customer_id}; list them with: allegro-ads customers list")
    if this.agency_account_id is not None and (this.agency_account_id, this.ads_client_id) != (
        agency_account_id,
        client_id,
    ):
        raise Conflict(
            f"customer {this.name} is already linked to client {this.ads_client_id} of agency "
            f"account {this.agency_account_id}; unlink it first"
        )
    holder = conn.execute(
        select(customers.c.id, customers.c.name).where(
            customers.c.agency_account_id == agency_account_id,
            customers.c.ads_client_id == client_id,
            customers.c.id != customer_id,
        )
    ).first()
    listed = conn.execute(
        select(agency_clients.c.customer_id).where(
            agency_clients.c.agency_account_id == agency_account_id,
            agency_clients.c.client_id == client_id,
        )
    ).first()
    if holder is None and listed is not None and listed.customer_id not in (None, customer_id):
        holder = conn.execute(
            select(customers.c.id, customers.c.name).where(customers.c.id == listed.customer_id)
        ).first()
    if holder is not None:
        raise Conflict(
            f"client {client_id} of agency account {agency.name} is already linked to customer "
            f"{holder.name} ({holder.id}); unlink that customer first, or keep it"
        )
    conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(agency_account_id=agency_account_id, ads_client_id=client_id)
    )
    if listed is not None:
        conn.execute(
            update(agency_clients)
            .where(
                agency_clients.c.agency_account_id == agency_account_id,
                agency_clients.c.client_id == client_id,
            )
            .values(customer_id=customer_id)
        )
