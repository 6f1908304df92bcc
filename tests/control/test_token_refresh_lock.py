"""The refresh lock: one customer's refresh waiting on Allegro holds up nobody else's writes,
and what changed the row meanwhile (a revocation) is never overwritten by the refresh."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from allegro_resource.oauth import OAuthClient
from allegro_resource.token_manager import TokenManager
from allegro_resource.token_status import TokenStatus
from control_store import customers
from control_store.database import Conflict
from control_store.token_store import TokenStore
from simulator.server import RunningSimulator
from testing.held_allegro import HeldAllegro
from testing.postgres_databases import lock_waiters
from testing.waiting import wait_until
from tests.control.control_helpers import (
    SIM_CLIENT_ID,
    SIM_CLIENT_SECRET,
    SIM_REDIRECT_URI,
    consent,
    fake_tokens,
)

STALL_SECONDS = 8.0
EVENT_GUARD_SECONDS = 60.0  # only against a hang: the waits below are for events


@pytest.fixture
def silent_allegro() -> Iterator[HeldAllegro]:
    """An OAuth endpoint that takes the request and never answers: a refresh in flight."""
    held = HeldAllegro()
    yield held
    held.close()


def _refresh_in_background(
    token_store: TokenStore, customer_id: str, auth_url: str, timeout: float = STALL_SECONDS
) -> tuple[threading.Thread, list[BaseException]]:
    oauth = OAuthClient(
        auth_url,
        SIM_CLIENT_ID,
        SIM_CLIENT_SECRET,
        SIM_REDIRECT_URI,
        timeout=timeout,
        max_attempts=1,
    )
    manager = TokenManager(token_store, oauth)
    raised: list[BaseException] = []

    def refresh() -> None:
        try:
            manager.access_token(customer_id, force_refresh=True)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=refresh, daemon=True)
    thread.start()
    return thread, raised


def test_a_refresh_waiting_on_allegro_does_not_hold_up_other_writes(
    engine: Engine,
    token_store: TokenStore,
    customer_id: str,
    silent_allegro: HeldAllegro,
) -> None:
    token_store.save_consent(customer_id, fake_tokens("a", timedelta(hours=12)))
    refreshing, _ = _refresh_in_background(token_store, customer_id, silent_allegro.url)
    assert silent_allegro.received.wait(EVENT_GUARD_SECONDS), "the refresh never reached it"

    began = time.monotonic()
    customers.create_customer(engine, "Another Shop")  # any write of the control store
    waited = time.monotonic() - began

    assert refreshing.is_alive(), "the refresh should still be waiting on Allegro"
    assert waited < STALL_SECONDS / 2
    silent_allegro.close()  # the refresh gets no answer and ends
    refreshing.join(STALL_SECONDS + 10)


def test_a_revocation_during_a_refresh_is_not_overwritten_by_the_new_pair(
    engine: Engine, token_store: TokenStore, customer_id: str, simulator: RunningSimulator
) -> None:
    login = simulator.users()[0]["login"]
    token_store.save_consent(customer_id, consent(simulator.base_url, login))
    allegro = HeldAllegro(simulator.base_url)  # Allegro answers the refresh when told to
    refreshing, raised = _refresh_in_background(
        token_store, customer_id, allegro.url, timeout=EVENT_GUARD_SECONDS
    )
    revoking = threading.Thread(
        target=token_store.revoke, args=(customer_id, "revoked by staff"), daemon=True
    )
    try:
        # Allegro has rotated the pair; the refresh, under its lock, waits for the answer.
        assert allegro.answered.wait(EVENT_GUARD_SECONDS), "the refresh never reached Allegro"
        revoking.start()
        if engine.dialect.name == "sqlite":
            revoking.join(EVENT_GUARD_SECONDS)
            assert not revoking.is_alive(), "the revocation waited for the refresh"
        else:
            wait_until(
                lambda: len(lock_waiters(_database_url(engine), "UPDATE oauth_tokens")) == 1,
                "the revocation to wait for the refresh's row lock",
                guard_seconds=EVENT_GUARD_SECONDS,
            )
        allegro.release()
        refreshing.join(STALL_SECONDS + 10)
        revoking.join(STALL_SECONDS + 10)
    finally:
        allegro.close()
    assert not refreshing.is_alive() and not revoking.is_alive()

    info = token_store.info(customer_id)
    assert info is not None and info.status == TokenStatus.REVOKED
    if engine.dialect.name == "sqlite":
        # The revocation did not wait for the refresh; the late pair is refused, not stored.
        assert len(raised) == 1 and isinstance(raised[0], Conflict)
        assert "changed during the refresh" in str(raised[0])
    else:
        assert raised == []  # PostgreSQL: the revocation waited for the row lock, then won


def _database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)
