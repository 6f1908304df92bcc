"""A token refresh interrupted by SIGKILL never leaves a token silently broken.

The refresh runs in a child process under the control store's cross-process lock (a
per-customer file lock beside a SQLite file, PostgreSQL ``SELECT … FOR UPDATE``) and is killed
at each point that matters: before its request reaches Allegro, while it waits for the lock,
after it committed, and in the window where Allegro has rotated the pair but the process died
before storing it. A used refresh token keeps working for 60 seconds (allegro-api.md), so the
next process recovers that last window within the grace; after it, the guarantee is a clear
``needs_reauth`` with Allegro's answer. "Allegro" answers only when the test lets it
(``HeldAllegro``), so each kill lands at the point it names however slow the machine.
"""

from __future__ import annotations

import time

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import NeedsReauthorization
from allegro_resource.token_manager import StoredTokens
from allegro_resource.token_status import TokenStatus
from services.clients import oauth_client, token_manager
from services.control import open_control
from testing.held_allegro import HeldAllegro
from testing.pipeline_agency import Agency, Connected
from testing.postgres_databases import lock_waiters
from testing.waiting import wait_until
from tests.chaos.chaos_refresh import ASKING, LOCK_BUSY, ChildRefresh

pytestmark = pytest.mark.slow

# The agency's ``backend`` picks the control store whose lock the refresh holds.
CONTROL_STORES = [
    pytest.param("duckdb", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

EVENT_GUARD_SECONDS = 30.0  # only against a hang: every wait below is for an event
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


def _wait_until_blocked_on_the_refresh_lock(agency: Agency, waiter: ChildRefresh) -> None:
    """Return once ``waiter`` provably waits for the refresh lock another process holds:
    PostgreSQL shows its ``SELECT … FOR UPDATE`` waiting on a lock (``pg_stat_activity``) that
    another backend holds; on SQLite filelock has found the per-customer lock file taken."""
    if agency.backend == "postgres":
        url = agency.settings.resolved_control_url

        def blocked() -> bool:
            waiting = lock_waiters(url, "FOR UPDATE")
            return len(waiting) == 1 and len(waiting[0][1]) == 1

        wait_until(blocked, "the waiter's SELECT … FOR UPDATE to wait on the holder's lock")
    else:
        assert waiter.next_message() == LOCK_BUSY, "the waiter must find the lock taken"


@pytest.mark.parametrize("backend", CONTROL_STORES)
def test_a_refresh_killed_before_its_request_reaches_allegro_leaves_the_pair_and_lock_usable(
    agency: Agency,
) -> None:
    customer = agency.customers[0]
    before = _stored(agency, customer)
    stalled = HeldAllegro()  # takes the request, never passes it on, never answers
    child = ChildRefresh.start(customer.customer_id, stalled.url)
    try:
        assert child.next_message() == ASKING
        assert stalled.received.wait(EVENT_GUARD_SECONDS), "the refresh request never left"
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
    allegro = HeldAllegro(agency.simulator.base_url)  # answers only when the test says so
    holder = ChildRefresh.start(customer.customer_id, allegro.url)
    waiter: ChildRefresh | None = None
    try:
        assert holder.next_message() == ASKING
        # Its request went out under the lock and Allegro answered it: the holder holds the
        # lock until it gets that answer, which it cannot before ``release()``.
        assert allegro.answered.wait(EVENT_GUARD_SECONDS), "the holder's refresh never arrived"
        waiter = ChildRefresh.start(customer.customer_id, agency.simulator.base_url)
        assert waiter.next_message() == ASKING
        _wait_until_blocked_on_the_refresh_lock(agency, waiter)
        assert not holder.messages.poll(0), "the holder must still hold the lock"
        assert not waiter.messages.poll(0), "the waiter must still be waiting"
        waiter.kill()
        allegro.release()
        assert holder.next_message() == "ok"
    finally:
        holder.stop()
        if waiter is not None:
            waiter.stop()
        allegro.close()

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


def _kill_after_allegro_rotated(agency: Agency, customer: Connected) -> None:
    """A refresh whose request Allegro answered (the pair is rotated there) killed before it
    could store the answer."""
    allegro = HeldAllegro(agency.simulator.base_url)  # the answer is never let through
    child = ChildRefresh.start(customer.customer_id, allegro.url)
    try:
        assert child.next_message() == ASKING
        assert allegro.answered.wait(EVENT_GUARD_SECONDS), "the refresh never reached Allegro"
        child.kill()  # Allegro has rotated the pair; nobody will store the answer
    finally:
        child.stop()
        allegro.close()
    assert agency.simulator.stats()["refreshes_ok"] == 1, "Allegro's rotation"


def test_a_refresh_killed_after_allegro_rotated_the_pair_is_recovered_within_the_grace(
    agency: Agency,
) -> None:
    customer = agency.customers[0]
    before = _stored(agency, customer)
    _kill_after_allegro_rotated(agency, customer)

    _refresh_here(agency, customer)  # the stored refresh token still works for 60 s

    after = _stored(agency, customer)
    assert (after.status, after.version) == (TokenStatus.CONNECTED, before.version + 1)
    assert agency.simulator.stats()["refreshes_in_grace"] == 1


def test_a_refresh_killed_after_allegro_rotated_the_pair_ends_in_needs_reauth_after_the_grace(
    agency: Agency,
) -> None:
    customer = agency.customers[0]
    _kill_after_allegro_rotated(agency, customer)
    agency.simulator.advance(61)  # the rotated refresh token's grace is over

    with pytest.raises(NeedsReauthorization) as refused:
        _refresh_here(agency, customer)

    assert f"allegro-ads links create {customer.customer_id}" in str(refused.value)
    after = _stored(agency, customer)
    assert after.status == TokenStatus.NEEDS_REAUTH
    assert "invalid_grant" in (after.last_error or "")
    assert "Invalid refresh token: [redacted]" in (after.last_error or ""), "Allegro's answer"
    with pytest.raises(NeedsReauthorization):  # sticky: no further call wastes a request
        _refresh_here(agency, customer, force=False)
