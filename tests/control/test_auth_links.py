"""Consent links are single-use, expire, can be revoked; OAuth states are used once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from control_store import auth_links, customers
from control_store.auth_links import LinkState, LinkUnusable, StateUnusable
from control_store.database import Conflict, NotFound, write
from control_store.schema import oauth_states
from control_store.token_store import TokenStore

HOUR = timedelta(hours=1)


def mark_used(engine: Engine, link_id: str) -> None:
    """Use the link up in a transaction of its own (a consent does it while storing the tokens)."""
    with write(engine) as conn:
        auth_links.mark_used_in(conn, link_id, datetime.now(UTC))


def test_a_link_id_has_128_random_bits(engine: Engine, customer_id: str) -> None:
    ids = {auth_links.create_link(engine, customer_id, ttl=HOUR).id for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i) >= 22 for i in ids)  # 16 bytes, URL-safe base64


def test_a_link_can_be_used_once(engine: Engine, customer_id: str) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR, created_by="cli:anna")
    assert auth_links.require_usable(engine, link.id).created_by == "cli:anna"
    mark_used(engine, link.id)
    with pytest.raises(LinkUnusable, match="already used") as refused:
        mark_used(engine, link.id)
    assert refused.value.state is LinkState.USED
    with pytest.raises(LinkUnusable):
        auth_links.require_usable(engine, link.id)


def test_only_one_of_many_simultaneous_uses_wins(engine: Engine, customer_id: str) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def use() -> None:
        start.wait()
        try:
            mark_used(engine, link.id)
            outcomes.append("used")
        except LinkUnusable:
            outcomes.append("refused")

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 5 + ["used"]


def test_an_expired_link_is_refused(engine: Engine, customer_id: str) -> None:
    past = datetime.now(UTC) - timedelta(days=4)
    link = auth_links.create_link(engine, customer_id, ttl=timedelta(hours=72), now=past)
    with pytest.raises(LinkUnusable, match="expired"):
        mark_used(engine, link.id)
    assert auth_links.get_link(engine, link.id).used_at is None  # type: ignore[union-attr]


def test_a_revoked_link_is_refused(engine: Engine, customer_id: str) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR)
    assert auth_links.revoke_link(engine, link.id).state() is LinkState.REVOKED
    auth_links.revoke_link(engine, link.id)  # twice is harmless
    with pytest.raises(LinkUnusable, match="revoked"):
        mark_used(engine, link.id)


def test_a_used_link_cannot_be_revoked_and_unknown_links_are_named(
    engine: Engine, customer_id: str
) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR)
    mark_used(engine, link.id)
    with pytest.raises(Conflict, match="already used"):
        auth_links.revoke_link(engine, link.id)
    with pytest.raises(NotFound, match="no link nope"):
        auth_links.revoke_link(engine, "nope")
    with pytest.raises(LinkUnusable, match="does not exist"):
        mark_used(engine, "nope")


def test_links_are_only_issued_for_active_customers(engine: Engine, customer_id: str) -> None:
    customers.deactivate_customer(engine, customer_id)
    with pytest.raises(Conflict, match="deactivated"):
        auth_links.create_link(engine, customer_id, ttl=HOUR)
    with pytest.raises(NotFound, match="customers list"):
        auth_links.create_link(engine, "c_missing", ttl=HOUR)


def test_links_are_listed_newest_first_per_customer(engine: Engine, customer_id: str) -> None:
    other = customers.create_customer(engine, "Inny").id
    now = datetime.now(UTC)
    first = auth_links.create_link(engine, customer_id, ttl=HOUR, now=now - timedelta(minutes=5))
    second = auth_links.create_link(engine, customer_id, ttl=HOUR, now=now)
    auth_links.create_link(engine, other, ttl=HOUR)
    assert [link.id for link in auth_links.list_links(engine, customer_id)] == [
        second.id,
        first.id,
    ]
    assert len(auth_links.list_links(engine)) == 3


def test_an_oauth_state_is_consumed_once_and_keeps_the_verifier_encrypted(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR)
    verifier = "v" * 60
    state = auth_links.create_oauth_state(engine, token_store.cipher, link.id, verifier)
    with engine.connect() as conn:
        stored = conn.execute(select(oauth_states.c.code_verifier_enc)).scalar_one()
    assert verifier not in stored

    consumed = auth_links.consume_oauth_state(engine, token_store.cipher, state)
    assert (consumed.link_id, consumed.customer_id) == (link.id, customer_id)
    assert consumed.code_verifier == verifier and verifier not in repr(consumed)
    with pytest.raises(StateUnusable):
        auth_links.consume_oauth_state(engine, token_store.cipher, state)
    with pytest.raises(StateUnusable):
        auth_links.consume_oauth_state(engine, token_store.cipher, "forged-state")


def test_an_expired_oauth_state_is_refused(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR)
    state = auth_links.create_oauth_state(
        engine, token_store.cipher, link.id, "verifier", ttl=timedelta(minutes=10)
    )
    later = datetime.now(UTC) + timedelta(minutes=11)
    with pytest.raises(StateUnusable, match="too old"):
        auth_links.consume_oauth_state(engine, token_store.cipher, state, now=later)


def test_no_oauth_state_is_created_for_an_unusable_link(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR)
    auth_links.revoke_link(engine, link.id)
    with pytest.raises(LinkUnusable, match="revoked"):
        auth_links.create_oauth_state(engine, token_store.cipher, link.id, "verifier")


def test_abandoned_oauth_states_are_purged_after_a_day(
    engine: Engine, token_store: TokenStore, customer_id: str
) -> None:
    link = auth_links.create_link(engine, customer_id, ttl=HOUR)
    old = datetime.now(UTC) - timedelta(days=2)
    auth_links.create_oauth_state(engine, token_store.cipher, link.id, "v1", now=old)
    recent = auth_links.create_oauth_state(engine, token_store.cipher, link.id, "v2")
    assert auth_links.purge_oauth_states(engine) == 1
    assert auth_links.consume_oauth_state(engine, token_store.cipher, recent).code_verifier == "v2"
