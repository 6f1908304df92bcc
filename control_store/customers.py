"""The agency's customers: one per Allegro seller account, identified by a short random id."""

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
from control_store.schema import customers, portfolios
from control_store.users import User

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    allegro_login: str | None
    allegro_user_id: str | None
    ads_client_id: str | None
    portfolio_id: str | None
    portfolio_name: str | None
    currency: str
    active: bool
    created_at: datetime


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
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValueError("a customer name must be 1 to 200 characters")
    currency = currency.strip().upper()
    if not _CURRENCY.match(currency):
        raise ValueError(f"{currency!r} is not a three-letter currency code such as PLN")
    customer_id = short_id("c_")
    try:
        with write(engine) as conn:
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
    except IntegrityError:
        raise Conflict(f"a customer named {name!r} already exists") from None
    created = get_customer(engine, customer_id)
    assert created is not None
    return created


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
