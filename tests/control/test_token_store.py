"""Encrypted tokens: ciphertext at rest, key rotation, wrong keys, consent saving, status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from allegro_resource.token_status import TokenStatus
from control_store import auth_links, customers
from control_store.database import Conflict, make_engine
from control_store.schema import customers as customers_table
from control_store.schema import oauth_tokens
from control_store.token_cipher import TokenKeyError
from control_store.token_store import TokenStore, rotate_keys, token_status
from tests.control.control_helpers import fake_tokens


def _raw_row(engine: Engine, customer_id: str) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(
            select(oauth_tokens).where(oauth_tokens.c.account_id == customer_id)
        ).one()
    return dict(row._mapping)


def test_stored_tokens_are_ciphertext(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    tokens = fake_tokens("secret")
    token_store.save_consent(customer_id, tokens, allegro_login="seller01", allegro_user_id="1")
    raw = _raw_row(engine, customer_id)
    dump = repr(raw)
    assert tokens.access_token not in dump and tokens.refresh_token not in dump
    assert "secret" not in dump
    stored = token_store.read(customer_id)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == (
        tokens.access_token,
        tokens.refresh_token,
    )
    assert tokens.access_token not in repr(stored)


def test_key_rotation_keeps_every_token_readable_even_after_the_old_key_is_gone(
    control_url: str, engine: Engine, fernet_key: str
) -> None:
    old_store = TokenStore(engine, [fernet_key])
    pairs = {}
    for n in range(3):
        cid = customers.create_customer(engine, f"Klient {n}").id
        pairs[cid] = fake_tokens(f"c{n}")
        old_store.save_consent(cid, pairs[cid])
    new_key = Fernet.generate_key().decode()

    assert rotate_keys(engine, [new_key, fernet_key]) == 3

    fresh_engine = make_engine(control_url)  # as a new process would
    try:
        for keys in ([new_key, fernet_key], [new_key]):
            store = TokenStore(fresh_engine, keys)
            for cid, tokens in pairs.items():
                stored = store.read(cid)
                assert stored is not None and stored.access_token == tokens.access_token
                assert stored.refresh_token == tokens.refresh_token
    finally:
        fresh_engine.dispose()


def test_wrong_key_gives_an_error_naming_the_variable_and_leaves_the_row_intact(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    tokens = fake_tokens("keep")
    token_store.save_consent(customer_id, tokens)
    before = _raw_row(engine, customer_id)
    wrong = TokenStore(engine, [Fernet.generate_key().decode()])

    with pytest.raises(TokenKeyError, match="ALLEGRO_ADS_TOKEN_KEYS") as refused:
        wrong.read(customer_id)
    assert customer_id in str(refused.value)
    with pytest.raises(TokenKeyError):
        rotate_keys(engine, [Fernet.generate_key().decode()])

    assert _raw_row(engine, customer_id) == before
    stored = token_store.read(customer_id)
    assert stored is not None and stored.access_token == tokens.access_token


def test_a_value_that_is_not_a_fernet_key_is_refused_by_name(engine: Engine) -> None:
    with pytest.raises(TokenKeyError, match="ALLEGRO_ADS_TOKEN_KEYS"):
        TokenStore(engine, ["not-a-key"])
    with pytest.raises(TokenKeyError, match="empty"):
        TokenStore(engine, [])


def test_consent_binds_the_account_and_uses_up_the_link_in_one_transaction(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=timedelta(hours=1))
    token_store.save_consent(
        customer_id,
        fake_tokens("one"),
        allegro_login="seller01",
        allegro_user_id="u-1",
        link_id=link.id,
    )
    customer = customers.get_customer(engine, customer_id)
    assert customer is not None and customer.allegro_login == "seller01"
    assert auth_links.get_link(engine, link.id).state() is auth_links.LinkState.USED  # type: ignore[union-attr]

    # The same link cannot store a second pair, and nothing of the attempt is kept.
    with pytest.raises(auth_links.LinkUnusable, match="already used"):
        token_store.save_consent(customer_id, fake_tokens("two"), link_id=link.id)
    stored = token_store.read(customer_id)
    assert stored is not None and stored.access_token == fake_tokens("one").access_token


def test_an_account_already_connected_elsewhere_is_refused(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    token_store.save_consent(customer_id, fake_tokens("a"), allegro_user_id="u-7")
    other = customers.create_customer(engine, "Drugi Sklep").id
    with pytest.raises(Conflict, match="already connected to customer Sklep Testowy"):
        token_store.save_consent(other, fake_tokens("b"), allegro_user_id="u-7")
    assert token_store.read(other) is None


def test_reconsent_replaces_the_pair_and_clears_needs_reauth(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    token_store.save_consent(customer_id, fake_tokens("old"))
    with token_store.locked(customer_id) as locked:
        locked.mark_needs_reauth("invalid_grant: revoked", datetime.now(UTC))
    token_store.save_consent(customer_id, fake_tokens("new"))
    stored = token_store.read(customer_id)
    assert stored is not None
    assert stored.status == "connected" and stored.last_error is None
    assert stored.access_token == fake_tokens("new").access_token


def test_revoke_wipes_the_ciphertext(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    token_store.save_consent(customer_id, fake_tokens("gone"))
    token_store.revoke(customer_id, "customer left the agency")
    raw = _raw_row(engine, customer_id)
    assert raw["access_token_enc"] == "" and raw["refresh_token_enc"] == ""
    assert raw["status"] == "revoked"


def test_token_info_never_carries_a_token(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    tokens = fake_tokens("info")
    token_store.save_consent(customer_id, tokens, allegro_login="seller02")
    infos = token_store.list_info()
    assert [i.account_name for i in infos] == ["Sklep Testowy"]
    assert infos[0].allegro_login == "seller02"
    assert tokens.access_token not in repr(infos) and tokens.refresh_token not in repr(infos)
    with engine.connect() as conn:  # the store wrote nothing secret into customers either
        assert tokens.access_token not in repr(conn.execute(select(customers_table)).all())


@dataclass
class _Row:
    status: str
    refresh_expires_at: datetime


NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "refresh_left", "expected"),
    [
        ("connected", timedelta(days=60), TokenStatus.CONNECTED),
        ("connected", timedelta(days=3), TokenStatus.EXPIRING),
        ("connected", timedelta(days=7), TokenStatus.EXPIRING),
        ("connected", timedelta(seconds=-1), TokenStatus.EXPIRED),
        ("connected", timedelta(0), TokenStatus.EXPIRED),
        ("needs_reauth", timedelta(days=60), TokenStatus.NEEDS_REAUTH),
        ("needs_reauth", timedelta(days=-5), TokenStatus.NEEDS_REAUTH),
        ("revoked", timedelta(days=60), TokenStatus.REVOKED),
        ("expiring", timedelta(days=60), TokenStatus.CONNECTED),  # recomputed, not trusted
    ],
)
def test_token_status_is_computed_from_the_refresh_token_and_sticky_states(
    stored: str, refresh_left: timedelta, expected: TokenStatus
) -> None:
    assert token_status(_Row(stored, NOW + refresh_left), NOW, expiring_days=7) is expected


def test_an_expired_access_token_that_can_be_refreshed_is_still_connected(
    token_store: TokenStore, customer_id: str
) -> None:
    token_store.save_consent(customer_id, fake_tokens("stale", expires_in=timedelta(hours=-1)))
    info = token_store.info(customer_id)
    assert info is not None and info.expires_at < datetime.now(UTC)
    assert token_status(info, datetime.now(UTC), 7) is TokenStatus.CONNECTED
    assert info.refresh_expires_at - datetime.now(UTC) > timedelta(days=89)
