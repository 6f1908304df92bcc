"""Tokens: a 401 ``invalid_token`` re-reads the pair (refreshing only a pair still holding the
rejected token) and retries once, revoked consent ends clearly, secrets never reach the call log."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import InvalidGrant, NeedsReauthorization
from allegro_resource.oauth import TOKEN_PATH
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.token_manager import TokenManager
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from testing.memory_token_storage import MemoryTokenStorage
from tests.client.client_helpers import (
    AGENCY,
    ClientFactory,
    Seller,
    sellers_of,
    sim_session,
    sim_today,
)

ACCESS_TTL_SECONDS = 3600


def test_a_401_after_revocation_refreshes_once_then_asks_for_reauthorization(
    simulator: RunningSimulator,
    client: AllegroAdsClient,
    provider: StaticTokenProvider,
    seller: Seller,
    call_log: MemoryCallLog,
) -> None:
    client.me(seller.customer_id)
    simulator.revoke(seller.login)

    with pytest.raises(
        NeedsReauthorization, match=f"customer {seller.customer_id} needs to authorise"
    ) as caught:
        client.me(seller.customer_id)

    assert isinstance(caught.value.__cause__, InvalidGrant)
    assert provider.refresh_count(seller.customer_id) == 1
    after = [(c.endpoint, c.status) for c in call_log.snapshot()][-2:]
    assert after == [("/me", 401), (TOKEN_PATH, 400)]
    with pytest.raises(NeedsReauthorization):  # remembered: no second refresh attempt
        client.me(seller.customer_id)
    assert provider.refresh_count(seller.customer_id) == 1


def test_an_expired_access_token_is_refreshed_once_and_the_call_succeeds(
    simulator_factory: object, make_client: ClientFactory, call_log: MemoryCallLog
) -> None:
    factory: Callable[..., RunningSimulator] = simulator_factory  # type: ignore[assignment]
    sim = factory(access_ttl_seconds=ACCESS_TTL_SECONDS)
    seller = sellers_of(sim)[0]
    provider = sim_session.consented_provider(
        sim.base_url, [seller.login], call_log=call_log, refresh_margin_seconds=0
    )
    # Our clock believes the token is good for hours (clock skew): only Allegro's 401 tells.
    held = provider.token_set(seller.customer_id)
    provider.put(
        seller.customer_id,
        dataclasses.replace(held, expires_at=datetime.now(UTC) + timedelta(hours=1)),
    )
    client = make_client(sim, provider)
    sim.advance(ACCESS_TTL_SECONDS + 1)  # expired at Allegro; the new pair lives an hour more

    me = client.me(seller.customer_id)

    assert me.login == seller.login
    assert provider.refresh_count(seller.customer_id) == 1
    me_calls = [(c.status, c.attempt) for c in call_log.snapshot() if c.endpoint == "/me"]
    assert me_calls == [(401, 1), (200, 2)]


def test_a_token_close_to_expiry_is_refreshed_before_the_call(
    simulator_factory: object, make_client: ClientFactory, call_log: MemoryCallLog
) -> None:
    # Within the provider's 60 s margin from the start; the pair it gets still lives 30 s,
    # however slow the machine is to make the call.
    sim: RunningSimulator = simulator_factory(access_ttl_seconds=30)  # type: ignore[operator]
    seller = sellers_of(sim)[0]
    provider = sim_session.consented_provider(sim.base_url, [seller.login], call_log=call_log)
    client = make_client(sim, provider)

    client.me(seller.customer_id)

    assert provider.refresh_count(seller.customer_id) == 1
    assert [c.status for c in call_log.snapshot() if c.endpoint == "/me"] == [200]


def test_the_call_log_never_holds_a_token_a_code_or_the_secret(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller, call_log: MemoryCallLog
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url, call_log)
    granted = sim_session.authorize(oauth, seller.login)
    first = oauth.exchange_code(granted.code, granted.verifier)
    with pytest.raises(InvalidGrant):  # a code is single-use: the error is logged too
        oauth.exchange_code(granted.code, granted.verifier)
    provider = StaticTokenProvider(oauth)
    provider.put(seller.customer_id, first)
    client = make_client(simulator, provider)
    client.me(seller.customer_id)
    provider.access_token(seller.customer_id, force_refresh=True)
    second = provider.token_set(seller.customer_id)
    simulator.revoke(seller.login)
    with pytest.raises(NeedsReauthorization):
        client.me(seller.customer_id)

    secrets = [
        granted.code,
        granted.verifier,
        sim_session.SIM_CLIENT_SECRET,
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
    ]
    calls = call_log.snapshot()
    assert len(calls) >= 6
    for call in calls:
        for field in dataclasses.fields(call):
            text = str(getattr(call, field.name))
            assert not any(secret in text for secret in secrets), (field.name, call.endpoint)


def test_concurrent_forced_refreshes_are_serialised_so_rotation_never_breaks(
    simulator: RunningSimulator, provider: StaticTokenProvider, seller: Seller
) -> None:
    with ThreadPoolExecutor(8) as pool:
        tokens = list(
            pool.map(
                lambda _: provider.access_token(seller.customer_id, force_refresh=True), range(8)
            )
        )

    assert len(set(tokens)) == 8  # each refresh used the newest refresh token and got a new pair
    assert provider.refresh_count(seller.customer_id) == 8


class _RefreshedElsewhereMeanwhile:
    """Our process's token manager; the first token it hands out is replaced by another
    process's refresh before our request reaches Allegro (Allegro then kills it)."""

    def __init__(self, ours: TokenManager, theirs: TokenManager) -> None:
        self.ours, self.theirs, self.raced = ours, theirs, False

    def access_token(
        self,
        account_id: str,
        /,
        *,
        force_refresh: bool = False,
        rejected_token: str | None = None,
    ) -> str:
        token = self.ours.access_token(
            account_id, force_refresh=force_refresh, rejected_token=rejected_token
        )
        if not self.raced:
            self.raced = True
            self.theirs.access_token(account_id, force_refresh=True)  # their own 401
        return token


def test_a_401_after_another_process_refreshed_rereads_the_pair_without_refreshing_again(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller, call_log: MemoryCallLog
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url, call_log)
    storage = MemoryTokenStorage()
    storage.put(AGENCY, sim_session.device_consent(oauth, simulator.base_url))
    ours, theirs = TokenManager(storage, oauth), TokenManager(storage, oauth)
    client = make_client(simulator, _RefreshedElsewhereMeanwhile(ours, theirs))
    day = sim_today(simulator) - timedelta(days=1)
    refreshes_before = simulator.stats()["refreshes_ok"]

    rows = client.fetch_statistics(seller.job, day, day)

    assert rows
    assert storage.saved_refreshes == 1  # theirs only: ours re-read the new pair
    assert simulator.stats()["refreshes_ok"] - refreshes_before == 1
    assert simulator.stats()["invalid_grant"] == 0
    assert [c.status for c in call_log.snapshot() if c.endpoint.endswith("/statistics")] == [
        401,
        200,
    ]


def test_a_401_for_the_token_still_stored_refreshes_it_once_and_succeeds(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller, call_log: MemoryCallLog
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url, call_log)
    storage = MemoryTokenStorage()
    storage.put(AGENCY, sim_session.device_consent(oauth, simulator.base_url))
    client = make_client(simulator, TokenManager(storage, oauth))
    # Allegro's clock runs past the access token's life; ours (the store's expiry) does not:
    # only Allegro's 401 tells.
    simulator.advance(43200)
    day = sim_today(simulator) - timedelta(days=1)

    rows = client.fetch_statistics(seller.job, day, day)

    assert rows
    assert storage.saved_refreshes == 1
    statistics = [c for c in call_log.snapshot() if c.endpoint.endswith("/statistics")]
    assert [(c.status, c.attempt) for c in statistics] == [(401, 1), (200, 2)]
    assert "Access token expired: [redacted]" in (statistics[0].error or "")
