"""The agency's own Allegro accounts (``ag_…``): each one's token lists its clients and reads
their statistics. An account is created by name, then connected (``TokenStore``
``save_agency_connection`` binds its Allegro user); more than one is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, or_, select, update
from sqlalchemy.exc import IntegrityError

from control_store.database import Conflict, NotFound, short_id, write
from control_store.schema import agency_accounts

ID_PREFIX = "ag_"


@dataclass(frozen=True, slots=True)
class AgencyAccount:
    id: str
    name: str
    allegro_user_id: str | None  # None until connected
    allegro_login: str | None
    active: bool
    created_at: datetime


def _account(row: Row[Any]) -> AgencyAccount:
    return AgencyAccount(**dict(row._mapping))


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise ValueError("an agency account name must be 1 to 200 characters")
    return name


def create_agency_account(engine: Engine, name: str) -> AgencyAccount:
    """A new active, not yet connected agency account; names are unique."""
    name = _clean_name(name)
    account_id = short_id(ID_PREFIX)
    try:
        with write(engine) as conn:
            existing = conn.execute(
                select(agency_accounts.c.id).where(agency_accounts.c.name == name)
            ).scalar()
            if existing is not None:
                raise Conflict(
                    f"an agency account named {name!r} already exists ({existing}); "
                    "connect that one or choose another name"
                )
            conn.execute(
                agency_accounts.insert().values(
                    id=account_id, name=name, active=True, created_at=datetime.now(UTC)
                )
            )
    except IntegrityError:  # a concurrent creation with the same name won
        raise Conflict(f"an agency account named {name!r} already exists") from None
    created = get_agency_account(engine, account_id)
    assert created is not None
    return created


def get_agency_account(engine: Engine, account_id: str) -> AgencyAccount | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(agency_accounts).where(agency_accounts.c.id == account_id)
        ).first()
    return None if row is None else _account(row)


def find_agency_account(engine: Engine, id_or_name: str) -> AgencyAccount:
    """The agency account with this id or (exact) name, else ``NotFound``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(agency_accounts).where(
                or_(agency_accounts.c.id == id_or_name, agency_accounts.c.name == id_or_name)
            )
        ).first()
    if row is None:
        raise NotFound(f"no agency account {id_or_name!r}; list them with: allegro-ads agency list")
    return _account(row)


def list_agency_accounts(engine: Engine, *, active_only: bool = False) -> list[AgencyAccount]:
    """Agency accounts by name."""
    stmt = select(agency_accounts).order_by(agency_accounts.c.name)
    if active_only:
        stmt = stmt.where(agency_accounts.c.active.is_(True))
    with engine.connect() as conn:
        return [_account(row) for row in conn.execute(stmt)]


def deactivate_agency_account(engine: Engine, id_or_name: str) -> AgencyAccount:
    """Stop using the account: its clients are no longer listed nor its customers' statistics
    read. Its clients, links and tokens stay (revoke the tokens separately)."""
    account = find_agency_account(engine, id_or_name)
    with write(engine) as conn:
        conn.execute(
            update(agency_accounts).where(agency_accounts.c.id == account.id).values(active=False)
        )
    return find_agency_account(engine, account.id)
