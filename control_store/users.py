"""Staff accounts of the portal: admins see everything, viewers see their portfolios.

Passwords are stored as argon2id hashes (argon2-cffi); nothing else about them is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, Row, select, update
from sqlalchemy.exc import IntegrityError

from control_store.database import Conflict, NotFound, short_id, write
from control_store.schema import users

ROLES = ("admin", "viewer")
MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both paths cost one verification."""
    return _hasher.hash("not-a-real-password-just-for-timing")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    role: str
    active: bool
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def normalise_email(email: str) -> str:
    """Lower-cased and stripped; refuses what is clearly not an address."""
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise ValueError(f"{email!r} is not an email address")
    return email


def _user(row: Row[Any]) -> User:
    mapping = dict(row._mapping)
    mapping.pop("password_hash", None)
    return User(**mapping)


def create_user(engine: Engine, email: str, password: str, role: str) -> User:
    """A new active user; emails are unique (case-insensitively)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = User(short_id("u_"), normalise_email(email), role, True, datetime.now(UTC))
    password_hash = _hasher.hash(password)
    try:
        with write(engine) as conn:
            if conn.execute(select(users.c.id).where(users.c.email == user.email)).first():
                raise Conflict(f"a user {user.email} already exists")
            conn.execute(
                users.insert().values(
                    id=user.id,
                    email=user.email,
                    password_hash=password_hash,
                    role=user.role,
                    active=True,
                    created_at=user.created_at,
                )
            )
    except IntegrityError:
        raise Conflict(f"a user {user.email} already exists") from None
    return user


def get_user(engine: Engine, user_id: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def find_user(engine: Engine, email: str) -> User:
    """The user with this email, else ``NotFound``."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == normalise_email(email))).first()
    if row is None:
        raise NotFound(f"no user {email}; list them with: allegro-ads users list")
    return _user(row)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(row) for row in conn.execute(select(users).order_by(users.c.email))]


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    """The active user with these credentials, else None (same cost whether or not they exist)."""
    try:
        address = normalise_email(email)
    except ValueError:
        address = ""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == address)).first()
    stored = row.password_hash if row is not None else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or not row.active:
        return None
    if _hasher.check_needs_rehash(stored):
        with write(engine) as conn:
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
    return _user(row)


def deactivate_user(engine: Engine, email: str) -> User:
    """The user can no longer sign in; their row stays for the record."""
    with write(engine) as conn:
        result = conn.execute(
            update(users).where(users.c.email == normalise_email(email)).values(active=False)
        )
    if result.rowcount != 1:
        raise NotFound(f"no user {email}; list them with: allegro-ads users list")
    return find_user(engine, email)
