"""Staff accounts (argon2 hashes, sign-in) and who sees which customers."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from control_store import customers, portfolios, users
from control_store.database import Conflict
from control_store.schema import users as users_table


def test_passwords_are_stored_as_argon2_hashes_and_emails_lowercased(engine: Engine) -> None:
    user = users.create_user(engine, "  Ola@Agency.PL ", "a long password", "admin")
    assert user.email == "ola@agency.pl"
    with engine.connect() as conn:
        stored = conn.execute(select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert "password" not in repr(user)


def test_sign_in_needs_the_right_password_an_active_account_and_a_known_email(
    engine: Engine,
) -> None:
    users.create_user(engine, "ola@agency.pl", "a long password", "viewer")
    assert users.authenticate(engine, "OLA@agency.pl", "a long password") is not None
    assert users.authenticate(engine, "ola@agency.pl", "wrong password") is None
    assert users.authenticate(engine, "nobody@agency.pl", "a long password") is None
    assert users.authenticate(engine, "not an email", "a long password") is None
    users.deactivate_user(engine, "ola@agency.pl")
    assert users.authenticate(engine, "ola@agency.pl", "a long password") is None


def test_duplicate_emails_short_passwords_and_unknown_roles_are_refused(engine: Engine) -> None:
    users.create_user(engine, "ola@agency.pl", "a long password", "viewer")
    with pytest.raises(Conflict, match="already exists"):
        users.create_user(engine, "OLA@agency.pl", "another password", "admin")
    with pytest.raises(ValueError, match="at least 10 characters"):
        users.create_user(engine, "new@agency.pl", "short", "viewer")
    with pytest.raises(ValueError, match="role must be one of"):
        users.create_user(engine, "new@agency.pl", "a long password", "owner")


def test_viewers_see_their_portfolios_customers_and_admins_see_all(engine: Engine) -> None:
    admin = users.create_user(engine, "boss@agency.pl", "a long password", "admin")
    viewer = users.create_user(engine, "view@agency.pl", "a long password", "viewer")
    portfolios.create_portfolio(engine, "Moda")
    portfolios.create_portfolio(engine, "Dom")
    customers.create_customer(engine, "Butik", portfolio="Moda")
    customers.create_customer(engine, "Meble", portfolio="Dom")
    customers.create_customer(engine, "Bez Portfela")

    assert customers.visible_to(engine, viewer) == []
    portfolios.grant(engine, "view@agency.pl", "Moda")
    assert [c.name for c in customers.visible_to(engine, viewer)] == ["Butik"]
    assert len(customers.visible_to(engine, admin)) == 3
    with pytest.raises(Conflict, match="admin"):
        portfolios.grant(engine, "boss@agency.pl", "Dom")
    with pytest.raises(Conflict, match="already exists"):
        portfolios.create_portfolio(engine, "Moda")
