"""The portal's agency sign-in states: bound to one agency account and the admin who began it,
used once, ten minutes long, the PKCE verifier encrypted at rest (and re-encrypted by a key
rotation), never mistaken for a customer's consent state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from control_store import agency_accounts, auth_links, users
from control_store.agency_oauth_states import (
    AGENCY_STATE_TTL,
    AgencyStateUnusable,
    consume_agency_state,
    create_agency_state,
    is_agency_state,
)
from control_store.database import Conflict, NotFound
from control_store.schema import agency_oauth_states
from control_store.token_cipher import TokenCipher
from control_store.token_store import rotate_keys

VERIFIER = "pkce-verifier-" + "x" * 40
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def cipher(fernet_key: str) -> TokenCipher:
    return TokenCipher([fernet_key])


@pytest.fixture
def agency_id(engine: Engine) -> str:
    return agency_accounts.create_agency_account(engine, "Agencja").id


@pytest.fixture
def admins(engine: Engine) -> tuple[str, str]:
    first = users.create_user(engine, "anna@agency.test", "correct horse battery", "admin")
    second = users.create_user(engine, "bartek@agency.test", "correct horse battery", "admin")
    return first.id, second.id


def _begin(engine: Engine, cipher: TokenCipher, agency_id: str, user_id: str) -> str:
    return create_agency_state(engine, cipher, agency_id, user_id, VERIFIER, now=T0)


def test_the_admin_who_began_it_finishes_it_once(
    engine: Engine, cipher: TokenCipher, agency_id: str, admins: tuple[str, str]
) -> None:
    state = _begin(engine, cipher, agency_id, admins[0])
    consumed = consume_agency_state(engine, cipher, state, admins[0], now=T0)
    assert (consumed.agency_account_id, consumed.code_verifier) == (agency_id, VERIFIER)
    with pytest.raises(AgencyStateUnusable, match="already completed"):
        consume_agency_state(engine, cipher, state, admins[0], now=T0)


def test_another_admin_cannot_finish_it_and_leaves_it_to_its_owner(
    engine: Engine, cipher: TokenCipher, agency_id: str, admins: tuple[str, str]
) -> None:
    state = _begin(engine, cipher, agency_id, admins[0])
    with pytest.raises(AgencyStateUnusable, match="started by another admin"):
        consume_agency_state(engine, cipher, state, admins[1], now=T0)
    assert consume_agency_state(engine, cipher, state, admins[0], now=T0).code_verifier == VERIFIER


def test_a_state_lives_ten_minutes(
    engine: Engine, cipher: TokenCipher, agency_id: str, admins: tuple[str, str]
) -> None:
    assert timedelta(minutes=10) == AGENCY_STATE_TTL
    state = _begin(engine, cipher, agency_id, admins[0])
    with pytest.raises(AgencyStateUnusable, match="longer than 10 minutes"):
        consume_agency_state(engine, cipher, state, admins[0], now=T0 + AGENCY_STATE_TTL)


def test_an_unknown_state_is_refused_saying_what_to_do(
    engine: Engine, cipher: TokenCipher, admins: tuple[str, str]
) -> None:
    with pytest.raises(AgencyStateUnusable, match="press Connect"):
        consume_agency_state(engine, cipher, "forged", admins[0], now=T0)


def test_the_verifier_is_ciphertext_at_rest_and_survives_a_key_rotation(
    engine: Engine, cipher: TokenCipher, fernet_key: str, agency_id: str, admins: tuple[str, str]
) -> None:
    state = _begin(engine, cipher, agency_id, admins[0])
    with engine.connect() as conn:
        stored = conn.execute(select(agency_oauth_states.c.code_verifier_enc)).scalar_one()
    assert VERIFIER not in stored
    new_key = Fernet.generate_key().decode()
    rotate_keys(engine, [new_key, fernet_key])
    only_new = TokenCipher([new_key])
    assert consume_agency_state(engine, only_new, state, admins[0], now=T0).code_verifier == (
        VERIFIER
    )


def test_a_deactivated_or_unknown_agency_account_cannot_be_connected(
    engine: Engine, cipher: TokenCipher, agency_id: str, admins: tuple[str, str]
) -> None:
    agency_accounts.deactivate_agency_account(engine, agency_id)
    with pytest.raises(Conflict, match="deactivated"):
        _begin(engine, cipher, agency_id, admins[0])
    with pytest.raises(NotFound):
        _begin(engine, cipher, "ag_nothere000", admins[0])
    with engine.connect() as conn:
        assert conn.execute(select(agency_oauth_states)).first() is None


def test_only_agency_states_are_recognised_as_such(
    engine: Engine, cipher: TokenCipher, agency_id: str, admins: tuple[str, str], customer_id: str
) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=timedelta(days=1))
    customer_state = auth_links.create_oauth_state(engine, cipher, link.id, VERIFIER)
    agency_state = _begin(engine, cipher, agency_id, admins[0])
    assert is_agency_state(engine, agency_state)
    assert not is_agency_state(engine, customer_state)
    assert not is_agency_state(engine, "")
    assert not is_agency_state(engine, "x" * 5000)
