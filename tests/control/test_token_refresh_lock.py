"""The refresh lock: one customer's refresh waiting on Allegro holds up nobody else's writes,
and what changed the row meanwhile (a revocation) is never overwritten by the refresh."""

from __future__ import annotations

import socket
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
from tests.control.control_helpers import (
    SIM_CLIENT_ID,
    SIM_CLIENT_SECRET,
    SIM_REDIRECT_URI,
    consent,
    fake_tokens,
)

STALL_SECONDS = 8.0


@pytest.fixture
def silent_allegro() -> Iterator[tuple[str, threading.Event]]:
    """An OAuth endpoint that takes the request and never answers: a refresh in flight."""
    server = socket.create_server(("127.0.0.1", 0))
    received = threading.Event()

    def serve() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            connection.recv(65536)
            received.set()
            while connection.recv(65536):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", received
    server.close()
    thread.join(timeout=STALL_SECONDS + 5)


def _refresh_in_background(
    token_store: TokenStore, customer_id: str, auth_url: str
) -> tuple[threading.Thread, list[BaseException]]:
    oauth = OAuthClient(
        auth_url,
        SIM_CLIENT_ID,
        SIM_CLIENT_SECRET,
        SIM_REDIRECT_URI,
        timeout=STALL_SECONDS,
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
    silent_allegro: tuple[str, threading.Event],
) -> None:
    auth_url, received = silent_allegro
    token_store.save_consent(customer_id, fake_tokens("a", timedelta(hours=12)))
    refreshing, _ = _refresh_in_background(token_store, customer_id, auth_url)
    assert received.wait(10), "the refresh never reached the endpoint"

    began = time.monotonic()
    customers.create_customer(engine, "Another Shop")  # any write of the control store
    waited = time.monotonic() - began

    assert refreshing.is_alive(), "the refresh should still be waiting on Allegro"
    assert waited < STALL_SECONDS / 2
    refreshing.join(STALL_SECONDS + 10)


def test_a_revocation_during_a_refresh_is_not_overwritten_by_the_new_pair(
    engine: Engine, token_store: TokenStore, customer_id: str, simulator: RunningSimulator
) -> None:
    login = simulator.users()[0]["login"]
    token_store.save_consent(customer_id, consent(simulator.base_url, login))
    simulator.faults(latency_ms=2000, include_oauth=True)  # Allegro answers the refresh late
    refreshing, raised = _refresh_in_background(token_store, customer_id, simulator.base_url)
    time.sleep(0.5)  # the refresh is waiting on Allegro

    token_store.revoke(customer_id, "revoked by staff")
    refreshing.join(STALL_SECONDS + 10)

    info = token_store.info(customer_id)
    assert info is not None and info.status == TokenStatus.REVOKED
    if engine.dialect.name == "sqlite":
        # The revocation did not wait for the refresh; the late pair is refused, not stored.
        assert len(raised) == 1 and isinstance(raised[0], Conflict)
        assert "changed during the refresh" in str(raised[0])
    else:
        assert raised == []  # PostgreSQL: the revocation waited for the row lock, then won
