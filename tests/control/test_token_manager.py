"""The token manager over the real control store, with a scripted OAuth endpoint."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from allegro_resource.errors import AllegroUnavailable, NeedsReauthorization
from allegro_resource.models import TokenSet
from allegro_resource.token_manager import TokenManager
from control_store import customers
from control_store.token_store import TokenStore
from tests.control.control_helpers import ScriptedOAuth, fake_tokens


@pytest.fixture
def oauth() -> ScriptedOAuth:
    return ScriptedOAuth()


def _connect(store: TokenStore, oauth: ScriptedOAuth, cid: str, tokens: TokenSet) -> None:
    store.save_consent(cid, oauth.register(cid, tokens))


def test_a_valid_token_is_returned_without_refreshing(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id, fake_tokens("fresh"))
    manager = TokenManager(token_store, oauth)
    assert manager.access_token(customer_id) == fake_tokens("fresh").access_token
    assert oauth.calls == 0


def test_a_token_within_the_margin_is_refreshed_and_the_rotated_pair_persisted(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id, fake_tokens("old", timedelta(hours=12)))
    later = datetime.now(UTC) + timedelta(hours=11, minutes=55)  # 5 minutes left
    manager = TokenManager(token_store, oauth, refresh_margin_seconds=600, clock=lambda: later)
    token = manager.access_token(customer_id)
    assert token == fake_tokens("r1").access_token and oauth.calls == 1
    stored = token_store.read(customer_id)
    assert stored is not None
    assert stored.refresh_token == fake_tokens("r1").refresh_token
    info = token_store.info(customer_id)
    assert info is not None and info.status == "connected" and info.last_refresh_at is not None
    # A second manager (another process) sees the new pair and does not refresh.
    assert TokenManager(token_store, oauth).access_token(customer_id) == token
    assert oauth.calls == 1


def test_a_customer_never_authorised_needs_authorisation(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    with pytest.raises(NeedsReauthorization, match="never authorised") as refused:
        TokenManager(token_store, oauth).access_token(customer_id)
    assert refused.value.customer_id == customer_id
    assert f"allegro-ads links create {customer_id}" in str(refused.value)


def test_invalid_grant_marks_only_that_customer_needs_reauth_and_sticks(
    engine: object, token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    other = customers.create_customer(token_store.engine, "Inny Sklep").id
    token_store.save_consent(customer_id, fake_tokens("dead", timedelta(0)))  # unknown to oauth
    _connect(token_store, oauth, other, fake_tokens("alive", timedelta(0)))
    manager = TokenManager(token_store, oauth)

    with pytest.raises(NeedsReauthorization, match="already used or revoked"):
        manager.access_token(customer_id)
    info = token_store.info(customer_id)
    assert info is not None and info.status == "needs_reauth"
    assert info.last_error is not None and "invalid_grant" in info.last_error

    calls = oauth.calls
    with pytest.raises(NeedsReauthorization):  # sticky: Allegro is not asked again
        manager.access_token(customer_id, force_refresh=True)
    assert oauth.calls == calls

    assert manager.access_token(other) == fake_tokens("r2").access_token
    assert token_store.info(other).status == "connected"  # type: ignore[union-attr]


def test_force_refresh_does_not_refresh_a_token_another_process_already_replaced(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id, fake_tokens("t1"))
    ours, theirs = TokenManager(token_store, oauth), TokenManager(token_store, oauth)
    rejected = ours.access_token(customer_id)
    replaced = theirs.access_token(customer_id, force_refresh=True)  # their 401 came first
    assert replaced != rejected and oauth.calls == 1

    assert ours.access_token(customer_id, force_refresh=True) == replaced
    assert oauth.calls == 1


def test_force_refresh_refreshes_when_the_stored_token_is_the_rejected_one(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id, fake_tokens("t1"))
    manager = TokenManager(token_store, oauth)
    rejected = manager.access_token(customer_id)
    fresh = manager.access_token(customer_id, force_refresh=True)
    assert fresh != rejected and oauth.calls == 1
    # An explicit rejected token works the same for callers in other threads.
    newer = TokenManager(token_store, oauth).access_token(
        customer_id, force_refresh=True, rejected_token=fresh
    )
    assert newer not in (fresh, rejected) and oauth.calls == 2


def test_a_failed_refresh_keeps_the_connection_and_records_the_error(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id, fake_tokens("t1", timedelta(0)))
    oauth.fail_with = AllegroUnavailable("Allegro could not be reached")
    with pytest.raises(AllegroUnavailable):
        TokenManager(token_store, oauth).access_token(customer_id)
    info = token_store.info(customer_id)
    assert info is not None and info.status == "connected"
    assert info.last_error == "refresh failed: Allegro could not be reached"
    oauth.fail_with = None
    assert TokenManager(token_store, oauth).access_token(customer_id)
    assert token_store.info(customer_id).last_error is None  # type: ignore[union-attr]


def test_eight_threads_share_one_refresh(token_store: TokenStore, customer_id: str) -> None:
    oauth = ScriptedOAuth(delay=0.3)
    _connect(token_store, oauth, customer_id, fake_tokens("t1", timedelta(0)))
    managers = [TokenManager(token_store, oauth) for _ in range(8)]
    start = threading.Barrier(8)
    results: list[str] = []

    def ask(manager: TokenManager) -> None:
        start.wait()
        results.append(manager.access_token(customer_id))

    threads = [threading.Thread(target=ask, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert oauth.calls == 1
    assert results == [fake_tokens("r1").access_token] * 8


def test_the_clock_decides_expiry(token_store: TokenStore, customer_id: str) -> None:
    oauth = ScriptedOAuth()
    _connect(token_store, oauth, customer_id, fake_tokens("t1", timedelta(hours=1)))
    later = datetime.now(UTC) + timedelta(minutes=55)
    manager = TokenManager(token_store, oauth, refresh_margin_seconds=600, clock=lambda: later)
    manager.access_token(customer_id)
    assert oauth.calls == 1


def test_a_short_lived_token_is_used_for_half_its_life_whatever_the_margin(
    token_store: TokenStore, customer_id: str
) -> None:
    oauth = ScriptedOAuth()
    _connect(token_store, oauth, customer_id, fake_tokens("t1", timedelta(seconds=60)))
    manager = TokenManager(token_store, oauth, refresh_margin_seconds=600)
    assert manager.access_token(customer_id) == fake_tokens("t1").access_token
    assert oauth.calls == 0
    late = datetime.now(UTC) + timedelta(seconds=40)
    TokenManager(token_store, oauth, refresh_margin_seconds=600, clock=lambda: late).access_token(
        customer_id
    )
    assert oauth.calls == 1
