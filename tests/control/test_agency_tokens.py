"""An agency account's connection in the token store: saved encrypted and bound to its Allegro
user, refreshed once under the lock, revoked, its statuses, and kept apart from customers'
sales connections."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from allegro_resource.errors import NeedsReauthorization
from allegro_resource.token_manager import TokenManager
from control_store import agency_accounts
from control_store.account_kind import AccountKind
from control_store.database import Conflict, NotFound
from control_store.schema import oauth_tokens
from control_store.token_store import TokenStore, rotate_keys
from tests.control.control_helpers import ScriptedOAuth, fake_tokens


@pytest.fixture
def agency(engine: Engine) -> str:
    return agency_accounts.create_agency_account(engine, "Agencja Główna").id


def _connect(
    store: TokenStore,
    agency_id: str,
    tag: str,
    *,
    user: str = "a-1",
    oauth: ScriptedOAuth | None = None,
) -> None:
    tokens = fake_tokens(tag)
    if oauth is not None:
        oauth.register(agency_id, tokens)
    store.save_agency_connection(
        agency_id, tokens, allegro_login=f"login-{user}", allegro_user_id=user
    )


def test_an_agency_connection_is_stored_encrypted_and_binds_the_allegro_user(
    engine: Engine, token_store: TokenStore, agency: str
) -> None:
    tokens = fake_tokens("agency-secret")
    token_store.save_agency_connection(
        agency, tokens, allegro_login="agencja_pl", allegro_user_id="a-42"
    )
    with engine.connect() as conn:
        raw = conn.execute(select(oauth_tokens).where(oauth_tokens.c.account_id == agency)).one()
    assert raw.account_kind == "agency"
    assert "agency-secret" not in repr(tuple(raw))
    stored = token_store.read(agency)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == (
        tokens.access_token,
        tokens.refresh_token,
    )
    account = agency_accounts.find_agency_account(engine, agency)
    assert (account.allegro_login, account.allegro_user_id) == ("agencja_pl", "a-42")
    info = token_store.info(agency)
    assert info is not None
    assert (info.kind, info.account_name, info.allegro_login, info.status) == (
        AccountKind.AGENCY,
        "Agencja Główna",
        "agencja_pl",
        "connected",
    )


def test_an_allegro_user_already_connected_as_another_agency_account_is_refused(
    engine: Engine, token_store: TokenStore, agency: str
) -> None:
    _connect(token_store, agency, "first", user="a-1")
    second = agency_accounts.create_agency_account(engine, "Druga").id
    with pytest.raises(
        Conflict, match=f"already connected as agency account Agencja Główna \\({agency}\\)"
    ):
        _connect(token_store, second, "second", user="a-1")
    assert token_store.read(second) is None
    assert agency_accounts.find_agency_account(engine, second).allegro_user_id is None


def test_an_agency_account_cannot_be_reconnected_as_a_different_allegro_user(
    token_store: TokenStore, agency: str
) -> None:
    _connect(token_store, agency, "first", user="a-1")
    with pytest.raises(Conflict, match="connect login-a-2 as a new agency account"):
        _connect(token_store, agency, "other", user="a-2")
    stored = token_store.read(agency)
    assert stored is not None and stored.access_token == fake_tokens("first").access_token


def test_reconnecting_the_same_allegro_user_replaces_the_pair_and_clears_needs_reauth(
    token_store: TokenStore, agency: str
) -> None:
    _connect(token_store, agency, "old")
    with token_store.locked(agency) as locked:
        locked.mark_needs_reauth("invalid_grant: revoked", datetime.now(UTC))
    _connect(token_store, agency, "new")
    stored = token_store.read(agency)
    assert stored is not None and stored.access_token == fake_tokens("new").access_token
    assert (stored.status, stored.last_error) == ("connected", None)


def test_an_unknown_or_deactivated_agency_account_cannot_be_connected(
    engine: Engine, token_store: TokenStore, agency: str
) -> None:
    with pytest.raises(NotFound, match="allegro-ads agency list"):
        _connect(token_store, "ag_missing", "x")
    agency_accounts.deactivate_agency_account(engine, agency)
    with pytest.raises(Conflict, match="deactivated"):
        _connect(token_store, agency, "x")
    assert token_store.list_info() == []


def test_an_expiring_agency_token_is_refreshed_once_for_eight_threads(
    token_store: TokenStore, agency: str
) -> None:
    oauth = ScriptedOAuth(delay=0.3)
    tokens = oauth.register(agency, fake_tokens("t1", timedelta(0)))
    token_store.save_agency_connection(agency, tokens, allegro_login="ag", allegro_user_id="a-1")
    managers = [TokenManager(token_store, oauth) for _ in range(8)]
    start = threading.Barrier(8)
    results: list[str] = []

    def ask(manager: TokenManager) -> None:
        start.wait()
        results.append(manager.access_token(agency))

    threads = [threading.Thread(target=ask, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert oauth.calls == 1
    assert results == [fake_tokens("r1").access_token] * 8
    stored = token_store.read(agency)
    assert stored is not None and stored.refresh_token == fake_tokens("r1").refresh_token
    info = token_store.info(agency)
    assert info is not None and info.kind is AccountKind.AGENCY and info.last_refresh_at


def test_a_refused_agency_refresh_marks_it_needs_reauth(
    token_store: TokenStore, agency: str
) -> None:
    oauth = ScriptedOAuth()  # knows no refresh token: Allegro answers invalid_grant
    token_store.save_agency_connection(
        agency, fake_tokens("dead", timedelta(0)), allegro_login="ag", allegro_user_id="a-1"
    )
    with pytest.raises(NeedsReauthorization):
        TokenManager(token_store, oauth).access_token(agency)
    info = token_store.info(agency)
    assert info is not None and info.status == "needs_reauth"
    assert info.last_error is not None and "invalid_grant" in info.last_error


def test_revoking_an_agency_connection_wipes_it_and_stops_its_tokens(
    engine: Engine, token_store: TokenStore, agency: str
) -> None:
    oauth = ScriptedOAuth()
    _connect(token_store, agency, "gone", oauth=oauth)
    token_store.revoke(agency, "agency left Allegro Ads")
    with engine.connect() as conn:
        raw = conn.execute(select(oauth_tokens).where(oauth_tokens.c.account_id == agency)).one()
    assert (raw.access_token_enc, raw.refresh_token_enc, raw.status) == ("", "", "revoked")
    with pytest.raises(NeedsReauthorization, match="agency left Allegro Ads"):
        TokenManager(token_store, oauth).access_token(agency)
    assert oauth.calls == 0


def test_revoking_an_account_without_tokens_is_refused(
    token_store: TokenStore, agency: str
) -> None:
    with pytest.raises(NotFound, match=f"account {agency} has no stored tokens"):
        token_store.revoke(agency, "nothing to revoke")


def test_sales_and_agency_connections_are_listed_with_their_kind(
    engine: Engine, token_store: TokenStore, agency: str, customer_id: str
) -> None:
    _connect(token_store, agency, "agency")
    token_store.save_consent(customer_id, fake_tokens("sales"), allegro_login="seller01")
    assert [(i.account_id, i.kind) for i in token_store.list_info()] == [
        (agency, AccountKind.AGENCY),
        (customer_id, AccountKind.SALES),
    ]
    assert [i.account_name for i in token_store.list_info(AccountKind.SALES)] == ["Sklep Testowy"]
    assert [i.account_id for i in token_store.list_info(AccountKind.AGENCY)] == [agency]


def test_key_rotation_covers_agency_connections(
    engine: Engine, token_store: TokenStore, agency: str, customer_id: str, fernet_key: str
) -> None:
    _connect(token_store, agency, "agency")
    token_store.save_consent(customer_id, fake_tokens("sales"))
    new_key = Fernet.generate_key().decode()
    assert rotate_keys(engine, [new_key, fernet_key]) == 2
    stored = TokenStore(engine, [new_key]).read(agency)
    assert stored is not None and stored.access_token == fake_tokens("agency").access_token
