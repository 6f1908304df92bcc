"""A token refresh interrupted by SIGKILL never leaves a token silently broken.

The refresh runs in a child process under the control store's cross-process lock (SQLite
``BEGIN IMMEDIATE``, PostgreSQL ``SELECT … FOR UPDATE``) and is killed at each point that matters:
before its request reaches Allegro, while it waits for the lock, after it committed, and in the
window where Allegro has rotated the pair but the process died before storing it. Allegro
refuses a rotated refresh token (allegro-api.md, assumed), so that last window cannot be
recovered by the client: the guarantee there is a clear ``needs_reauth`` with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import NeedsReauthorization
from allegro_resource.token_manager import StoredTokens
from allegro_resource.token_status import TokenStatus
from services.clients import oauth_client, token_manager
from services.control import open_control
from testing.pipeline_agency import Agency, Connected
from tests.chaos.chaos_refresh import ASKING, ChildRefresh, StalledAllegro

pytestmark = pytest.mark.slow

# The agency's ``backend`` picks the control store whose lock the refresh holds.
CONTROL_STORES = [
    pytest.param("duckdb", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

OAUTH_LATENCY_MS = 3000  # long enough to act while a refresh is at "Allegro"
LOCK_FREED_SECONDS = 10.0  # far below SQLite's 60 s busy timeout: a stuck lock would show


@pytest.fixture
def agency(empty_agency: Agency) -> Agency:
    """The agency with one customer, connected through the consent flow."""
    seller = empty_agency.simulator.users()[0]
    empty_agency.connect(seller["login"], seller["name"])
    return empty_agency


def _stored(agency: Agency, customer: Connected) -> StoredTokens:
    with open_control(agency.settings) as control:
        row = control.tokens.read(customer.customer_id)
    assert row is not None
    return row


def _refresh_here(agency: Agency, customer: Connected, *, force: bool = True) -> str:
    """A token from this process (another process than the killed one); with ``force``, a
    refresh as after a 401. Then one API call with it, which must succeed."""
    with open_control(agency.settings) as control:
        manager = token_manager(control, oauth_client(agency.settings))
        token = manager.access_token(customer.customer_id, force_refresh=force)
        with AllegroAdsClient(agency.settings.api_url, manager) as client:
            client.me(customer.customer_id)
    return token


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _refreshes_arrived(agency: Agency) -> int:
    return int(agency.simulator.stats()["requests"]["token_refresh"])


@pytest.mark.parametrize("backend", CONTROL_STORES)
def test_a_refresh_killed_before_its_request_reaches_allegro_leaves_the_pair_and_lock_usable(
    agency: Agency,
) -> None:
    customer = agency.customers[0]
    before = _stored(agency, customer)
    stalled = StalledAllegro()
    child = ChildRefresh.start(customer.customer_id, stalled.url)
    try:
        assert child.next_message() == ASKING
        assert stalled.received.wait(30), "the refresh request never left the child"
        child.kill()  # it holds the refresh lock; its request is still on the way
    finally:
        child.stop()
        stalled.close()

    began = time.monotonic()
    _refresh_here(agency, customer)

    assert time.monotonic() - began < LOCK_FREED_SECONDS, "the dead process's lock lingered"
    after = _stored(agency, customer)
    assert (after.status, after.last_error) == (TokenStatus.CONNECTED, None)
    assert after.version == before.version + 1, "exactly one refresh was stored"
    assert agency.simulator.stats()["refreshes_ok"] == 1, "the old refresh token still worked"


@pytest.mark.parametrize("backend", CONTROL_STORES)
def test_a_process_killed_while_waiting_for_the_refresh_lock_changes_nothing(
    agency: Agency,
) -> None:
    customer = agency.customers[0]
    before = _stored(agency, customer)
    agency.simulator.faults(include_oauth=True, latency_ms=OAUTH_LATENCY_MS)
    holder = ChildRefresh.start(customer.customer_id, agency.simulator.base_url)
    waiter: ChildRefresh | None = None
    try:
        assert holder.next_message() == ASKING
        _wait_for(lambda: _refreshes_arrived(agency) == 1, "the holder's refresh at Allegro")
        waiter = ChildRefresh.start(customer.customer_id, agency.simulator.base_url)
        assert waiter.next_message() == ASKING
        time.sleep(0.3)  # now blocked on the lock the holder keeps for its whole refresh
        assert not holder.messages.poll(0), "the holder must still hold the lock"
        assert not waiter.messages.poll(0), "the waiter must still be waiting"
        waiter.kill()
        assert holder.next_message() == "ok"
    finally:
        holder.stop()
        if waiter is not None:
            waiter.stop()
    agency.simulator.faults(reset=True)

    after = _stored(agency, customer)
    assert (after.status, after.version) == (TokenStatus.CONNECTED, before.version + 1)
    assert _refresh_here(agency, customer, force=False) == after.access_token
    stats = agency.simulator.stats()
    assert (stats["requests"]["token_refresh"], stats["refreshes_ok"]) == (1, 1)


def test_a_refresh_killed_after_it_committed_leaves_the_new_pair_in_use(agency: Agency) -> None:
    customer = agency.customers[0]
    before = _stored(agency, customer)
    child = ChildRefresh.start(customer.customer_id, agency.simulator.base_url, hang_after=True)
    try:
        assert child.next_message() == ASKING
        assert child.next_message() == "ok"
        child.kill()
    finally:
        child.stop()

    after = _stored(agency, customer)
    assert (after.status, after.version) == (TokenStatus.CONNECTED, before.version + 1)
    assert after.refresh_token != before.refresh_token
    assert _refresh_here(agency, customer, force=False) == after.access_token
    assert agency.simulator.stats()["refreshes_ok"] == 1, "no second refresh was needed"


def test_a_refresh_killed_after_allegro_rotated_the_pair_ends_in_needs_reauth_with_the_reason(
    agency: Agency,
) -> None:
    customer = agency.customers[0]
    agency.simulator.faults(include_oauth=True, latency_ms=OAUTH_LATENCY_MS // 2)
    child = ChildRefresh.start(customer.customer_id, agency.simulator.base_url)
    try:
        assert child.next_message() == ASKING
        _wait_for(lambda: _refreshes_arrived(agency) == 1, "the refresh at Allegro")
        child.kill()  # Allegro has the request and will rotate; nobody will store the answer
    finally:
        child.stop()
    _wait_for(lambda: agency.simulator.stats()["refreshes_ok"] == 1, "Allegro's rotation")
    agency.simulator.faults(reset=True)

    with pytest.raises(NeedsReauthorization) as refused:
        _refresh_here(agency, customer)

    assert f"allegro-ads links create {customer.customer_id}" in str(refused.value)
    after = _stored(agency, customer)
    assert after.status == TokenStatus.NEEDS_REAUTH
    assert "invalid_grant" in (after.last_error or "")
    assert "refresh token already used (rotated)" in (after.last_error or ""), "Allegro's reason"
    with pytest.raises(NeedsReauthorization):  # sticky: no further call wastes a request
        _refresh_here(agency, customer, force=False)
