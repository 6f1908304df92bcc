"""The token manager reuses the pair it read: one store read and decryption per account while
the token stays fresh, the store read again after ``recheck_seconds``, near expiry or on a 401."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from allegro_resource.errors import NeedsReauthorization
from allegro_resource.token_manager import TokenManager
from control_store.token_store import TokenStore
from tests.control.control_helpers import ScriptedOAuth, fake_tokens


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def oauth() -> ScriptedOAuth:
    return ScriptedOAuth()


@pytest.fixture
def decryptions(token_store: TokenStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the store decrypted, one entry per value."""
    seen: list[str] = []
    decrypt: Callable[[str, str], str] = token_store.cipher.decrypt

    def counted(ciphertext: str, what: str) -> str:
        seen.append(what)
        return decrypt(ciphertext, what)

    monkeypatch.setattr(token_store.cipher, "decrypt", counted)
    return seen


def _connect(store: TokenStore, oauth: ScriptedOAuth, cid: str, hours: float = 12) -> None:
    store.save_consent(cid, oauth.register(cid, fake_tokens("t1", timedelta(hours=hours))))


def test_the_stored_pair_is_decrypted_once_while_its_token_stays_valid(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str, decryptions: list[str]
) -> None:
    _connect(token_store, oauth, customer_id)
    manager = TokenManager(token_store, oauth)
    tokens = {manager.access_token(customer_id) for _ in range(50)}
    assert tokens == {fake_tokens("t1").access_token}
    assert len(decryptions) == 2  # the access and the refresh token, once
    assert oauth.calls == 0


def test_a_revocation_reaches_the_manager_once_the_recheck_interval_has_passed(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id)
    ticks = Ticks()
    manager = TokenManager(token_store, oauth, recheck_seconds=30, monotonic=ticks)
    manager.access_token(customer_id)
    token_store.revoke(customer_id, "revoked by an admin")
    ticks.now += 30
    with pytest.raises(NeedsReauthorization, match="revoked by an admin"):
        manager.access_token(customer_id)


def test_within_the_recheck_interval_the_held_pair_is_used_without_reading_the_store(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str, decryptions: list[str]
) -> None:
    _connect(token_store, oauth, customer_id)
    ticks = Ticks()
    manager = TokenManager(token_store, oauth, recheck_seconds=30, monotonic=ticks)
    manager.access_token(customer_id)
    ticks.now += 29
    manager.access_token(customer_id)
    assert len(decryptions) == 2
    ticks.now += 1
    manager.access_token(customer_id)
    assert len(decryptions) == 4


def test_a_pair_another_process_refreshed_is_used_after_the_recheck_interval(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id)
    ticks = Ticks()
    ours = TokenManager(token_store, oauth, recheck_seconds=30, monotonic=ticks)
    first = ours.access_token(customer_id)
    theirs = TokenManager(token_store, oauth).access_token(customer_id, force_refresh=True)
    assert theirs != first
    ticks.now += 30
    assert ours.access_token(customer_id) == theirs
    assert oauth.calls == 1


def test_a_held_token_nearing_expiry_is_refreshed_ahead_of_the_recheck(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id, hours=1)
    now = datetime.now(UTC)
    manager = TokenManager(
        token_store, oauth, refresh_margin_seconds=600, clock=lambda: now, monotonic=Ticks()
    )
    assert manager.access_token(customer_id) == fake_tokens("t1").access_token
    now += timedelta(minutes=55)  # 5 minutes left: within the margin
    assert manager.access_token(customer_id) == fake_tokens("r1").access_token
    assert oauth.calls == 1


def test_force_refresh_reads_the_store_even_while_a_pair_is_held(
    token_store: TokenStore, oauth: ScriptedOAuth, customer_id: str
) -> None:
    _connect(token_store, oauth, customer_id)
    ours = TokenManager(token_store, oauth, monotonic=Ticks())
    rejected = ours.access_token(customer_id)
    replaced = TokenManager(token_store, oauth).access_token(customer_id, force_refresh=True)
    assert ours.access_token(customer_id, force_refresh=True, rejected_token=rejected) == replaced
    assert ours.access_token(customer_id) == replaced
    assert oauth.calls == 1
