"""OAuth: PKCE, the authorization URL, code exchange (Basic or as a public client), refresh and the
device flow (pending, slow_down, denied, expired) against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from allegro_resource.errors import InvalidClient, InvalidGrant
from allegro_resource.oauth import (
    DeviceAuthorizationDenied,
    DeviceCodeExpired,
    OAuthClient,
    new_pkce,
    s256_challenge,
)
from allegro_resource.token_claims import token_scopes
from simulator.server import RunningSimulator
from tests.client.client_helpers import Seller, sim_session


def test_the_pkce_challenge_matches_the_rfc_7636_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_new_pkce_pair_is_random_and_hides_its_verifier() -> None:
    first, second = new_pkce(), new_pkce()
    assert first.verifier != second.verifier
    assert 43 <= len(first.verifier) <= 128
    assert first.challenge == s256_challenge(first.verifier)
    assert first.verifier not in repr(first)


def test_the_authorization_url_carries_client_redirect_state_and_challenge() -> None:
    oauth = OAuthClient("https://allegro.pl/", "app-id", "secret", "https://x.test/cb")
    url = oauth.authorization_url("st4te", "ch4llenge", scope="allegro:api:ads")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://allegro.pl/auth/oauth/authorize"
    )
    assert query == {
        "response_type": "code",
        "client_id": "app-id",
        "redirect_uri": "https://x.test/cb",
        "state": "st4te",
        "code_challenge": "ch4llenge",
        "code_challenge_method": "S256",
        "scope": "allegro:api:ads",
    }
    assert "secret" not in url


def test_a_code_is_exchanged_once_then_refused_as_invalid_grant(
    simulator: RunningSimulator, seller: Seller
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    granted = sim_session.authorize(oauth, seller.login)

    tokens = oauth.exchange_code(granted.code, granted.verifier)

    assert tokens.access_token and tokens.refresh_token
    assert tokens.access_token not in repr(tokens)
    with pytest.raises(InvalidGrant, match="authorise the application again"):
        oauth.exchange_code(granted.code, granted.verifier)


def test_a_wrong_pkce_verifier_is_refused(simulator: RunningSimulator, seller: Seller) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    granted = sim_session.authorize(oauth, seller.login)

    with pytest.raises(InvalidGrant):
        oauth.exchange_code(granted.code, new_pkce().verifier)


def test_a_refresh_rotates_the_pair_and_the_old_refresh_token_dies_after_its_grace(
    simulator: RunningSimulator, seller: Seller
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    first = sim_session.consent(oauth, seller.login)

    second = oauth.refresh(first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert oauth.refresh(first.refresh_token).access_token  # the 60-second grace
    simulator.advance(61)
    with pytest.raises(InvalidGrant):
        oauth.refresh(first.refresh_token)


def test_wrong_client_credentials_raise_invalid_client_naming_the_settings(
    simulator: RunningSimulator, seller: Seller
) -> None:
    good = sim_session.sim_oauth(simulator.base_url)
    first = sim_session.consent(good, seller.login)
    bad = OAuthClient(
        simulator.base_url, sim_session.SIM_CLIENT_ID, "wrong", sim_session.SIM_REDIRECT_URI
    )

    with pytest.raises(InvalidClient, match="ALLEGRO_ADS_CLIENT_SECRET"):
        bad.refresh(first.refresh_token)


def test_the_device_flow_is_pending_until_the_user_confirms(
    simulator_factory: object,
) -> None:
    sim: RunningSimulator = simulator_factory(device_interval_seconds=0)  # type: ignore[operator]
    oauth = sim_session.sim_oauth(sim.base_url)

    started = oauth.start_device_flow()
    assert oauth.poll_device_token(started.device_code) is None
    sim.confirm_device(started.user_code, "agency")
    tokens = oauth.poll_device_token(started.device_code)

    assert tokens is not None and tokens.access_token
    assert started.device_code not in repr(started)


def test_the_device_flow_asks_for_the_agency_scope_of_the_settings(
    simulator: RunningSimulator,
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)

    tokens = sim_session.device_consent(oauth, simulator.base_url)

    assert tokens.scope == oauth.agency_scope == "allegro:api:ads"
    assert token_scopes(tokens.access_token) == frozenset({"allegro:api:ads"})


def test_waiting_for_the_device_token_slows_down_when_told_and_then_gets_the_pair(
    simulator: RunningSimulator,
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    started = oauth.start_device_flow()
    slept: list[float] = []
    answers: list[str] = []

    def sleep(seconds: float) -> None:  # on the simulator's clock; confirm after 3 polls
        slept.append(seconds)
        if len(slept) == 4:
            simulator.confirm_device(started.user_code, "agency")
        simulator.advance(seconds if len(slept) != 2 else 1)  # poll 2 comes too early

    tokens = oauth.wait_for_device_token(started, sleep=sleep, on_poll=answers.append)

    assert tokens.access_token
    assert answers == ["authorization_pending", "slow_down", "authorization_pending"]
    assert slept == [5, 5, 10, 10]  # slow_down added 5 s to the interval


def test_a_refused_device_authorisation_says_so(simulator: RunningSimulator) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    started = oauth.start_device_flow()
    simulator.confirm_device(started.user_code, "agency", decision="deny")

    with pytest.raises(DeviceAuthorizationDenied, match="refused"):
        oauth.poll_device_token(started.device_code)


def test_an_expired_device_code_says_to_start_again(simulator: RunningSimulator) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    started = oauth.start_device_flow()
    simulator.advance(3601)

    with pytest.raises(DeviceCodeExpired, match="run the command again"):
        oauth.poll_device_token(started.device_code)


def test_a_pkce_code_is_exchanged_as_a_public_client_without_the_secret(
    simulator: RunningSimulator, seller: Seller
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    sales_scope = "allegro:api:sale:offers:read allegro:api:profile:read"

    tokens = sim_session.consent(oauth, seller.login, scope=sales_scope, public_client=True)

    assert tokens.access_token
    assert token_scopes(tokens.access_token) == frozenset(sales_scope.split())


def test_a_refreshed_pair_expires_by_the_clock_the_client_was_given(
    simulator: RunningSimulator, seller: Seller
) -> None:
    # A worker on simulated time must see the token's life from the simulated now, or it
    # would judge every token stale and refresh it far too early.
    simulated_now = datetime(2030, 1, 1, tzinfo=UTC)
    real = sim_session.sim_oauth(simulator.base_url)
    first = sim_session.consent(real, seller.login)
    oauth = OAuthClient(
        simulator.base_url,
        sim_session.SIM_CLIENT_ID,
        sim_session.SIM_CLIENT_SECRET,
        sim_session.SIM_REDIRECT_URI,
        clock=lambda: simulated_now,
    )

    tokens = oauth.refresh(first.refresh_token)

    assert tokens.expires_at == simulated_now + timedelta(seconds=43199)
