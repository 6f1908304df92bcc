"""Portfolios group customers; a viewer sees the customers of the portfolios granted to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from control_store.database import Conflict, NotFound, short_id, write
from control_store.schema import portfolios, users, viewer_portfolios
from control_store.users import normalise_email


@dataclass(frozen=True, slots=True)
class Portfolio:
    id: str
    name: str
    created_at: datetime
    alert_email: str | None = None  # alerts about its customers go here too


def create_portfolio(engine: Engine, name: str) -> Portfolio:
    """A new portfolio; names are unique."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("a portfolio name must be 1 to 200 characters")
    portfolio = Portfolio(short_id("p_"), name, datetime.now(UTC))
    try:
        with write(engine) as conn:
            if conn.execute(select(portfolios.c.id).where(portfolios.c.name == name)).first():
                raise Conflict(f"a portfolio named {name!r} already exists")
            conn.execute(portfolios.insert().values(**_values(portfolio)))
    except IntegrityError:
        raise Conflict(f"a portfolio named {name!r} already exists") from None
    return portfolio


def list_portfolios(engine: Engine) -> list[Portfolio]:
    with engine.connect() as conn:
        rows = conn.execute(select(portfolios).order_by(portfolios.c.name))
        return [Portfolio(**dict(row._mapping)) for row in rows]


def set_alert_email(engine: Engine, portfolio: str, email: str | None) -> Portfolio:
    """Send this portfolio's alerts to ``email`` as well as to the staff addresses; ``None`` or
    an empty string stops that. ``ValueError`` for what is not an address."""
    address = normalise_email(email) if email and email.strip() else None
    with write(engine) as conn:
        portfolio_id = find_portfolio_in(conn, portfolio).id
        conn.execute(
            update(portfolios).where(portfolios.c.id == portfolio_id).values(alert_email=address)
        )
        return find_portfolio_in(conn, portfolio_id)


def find_portfolio_in(conn: Connection, id_or_name: str) -> Portfolio:
    """The portfolio with this id or name, else ``NotFound``."""
    row = conn.execute(
        select(portfolios).where(
            or_(portfolios.c.id == id_or_name, portfolios.c.name == id_or_name)
        )
    ).first()
    if row is None:
        raise NotFound(
            f"no portfolio {id_or_name!r}; create it with: allegro-ads portfolios add NAME"
        )
    return Portfolio(**dict(row._mapping))


def _viewer_id(conn: Connection, email: str) -> str:
    row = conn.execute(
        select(users.c.id, users.c.role).where(users.c.email == normalise_email(email))
    ).first()
    if row is None:
        raise NotFound(f"no user {email}; add them with: allegro-ads users add EMAIL --role viewer")
    if row.role != "viewer":
        raise Conflict(f"{email} is an admin and already sees every customer")
    return str(row.id)


def grant(engine: Engine, email: str, portfolio: str) -> bool:
    """Let a viewer see a portfolio; False if they already could."""
    with write(engine) as conn:
        user_id = _viewer_id(conn, email)
        portfolio_id = find_portfolio_in(conn, portfolio).id
        exists = conn.execute(
            select(viewer_portfolios.c.user_id).where(
                viewer_portfolios.c.user_id == user_id,
                viewer_portfolios.c.portfolio_id == portfolio_id,
            )
        ).first()
        if exists:
            return False
        conn.execute(viewer_portfolios.insert().values(user_id=user_id, portfolio_id=portfolio_id))
        return True


def revoke(engine: Engine, email: str, portfolio: str) -> bool:
    """Stop a viewer seeing a portfolio; False if they could not see it anyway."""
    with write(engine) as conn:
        user_id = _viewer_id(conn, email)
        portfolio_id = find_portfolio_in(conn, portfolio).id
        result = conn.execute(
            delete(viewer_portfolios).where(
                viewer_portfolios.c.user_id == user_id,
                viewer_portfolios.c.portfolio_id == portfolio_id,
            )
        )
        return result.rowcount == 1


def portfolio_ids_of(engine: Engine, user_id: str) -> list[str]:
    """The portfolios granted to a user."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(viewer_portfolios.c.portfolio_id).where(
                    viewer_portfolios.c.user_id == user_id
                )
            ).scalars()
        )


def _values(portfolio: Portfolio) -> dict[str, object]:
    return {"id": portfolio.id, "name": portfolio.name, "created_at": portfolio.created_at}
