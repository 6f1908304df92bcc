"""Rules every REST path of the simulated Allegro follows (allegro-api.md): OAuth-style 401s,
the public.v1 media type, scopes, Trace-Id, the per-application limit with its one-minute
block, /me for any token, and the non-public /ads/... refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import (
    BETA,
    CLIENTS_PATH,
    OFFERS_PATH,
    PUBLIC,
    TIMEOUT,
    Account,
    api_get,
    assert_error_shape,
    assert_forbidden,
    assert_oauth_error,
    assert_token_expired,
    authorize_url,
    consent,
    refresh,
    token_request,
)

Factory = Callable[..., RunningSimulator]
Consented = Callable[[RunningSimulator, str], Account]


# --- 401: OAuth-style bodies ------------------------------------------------------------


def test_a_request_without_a_bearer_token_is_401_oauth_style(simulator: RunningSimulator) -> None:
    for headers in ({}, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer "}):
        answer = requests.get(
            f"{simulator.base_url}/me", headers={"Accept": PUBLIC, **headers}, timeout=TIMEOUT
        )
        assert_oauth_error(answer, 401, "unauthorized")
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_allegro_never_issued_is_401_invalid_token(simulator: RunningSimulator) -> None:
    for token in ("not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"):
        answer = api_get(simulator.base_url, "/me", token)
        assert_oauth_error(answer, 401, "invalid_token")
        assert answer.json()["error_description"] == "Cannot convert access token to JSON"


def test_an_expired_access_token_is_401_access_token_expired(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(access_ttl_seconds=2)
    seller = consented(sim, "seller01")
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200
    sim.advance(3)
    assert_token_expired(api_get(sim.base_url, "/me", seller.token), seller.token)


def test_a_refresh_invalidates_the_previous_access_token(
    simulator: RunningSimulator, seller: Account
) -> None:
    new = refresh(simulator.base_url, seller.tokens["refresh_token"]).json()
    assert_token_expired(api_get(simulator.base_url, "/me", seller.token), seller.token)
    assert api_get(simulator.base_url, "/me", new["access_token"]).status_code == 200


def test_a_revoked_consents_access_token_is_401(
    simulator: RunningSimulator, seller: Account
) -> None:
    simulator.revoke(seller.login)
    assert_token_expired(api_get(simulator.base_url, "/me", seller.token), seller.token)


# --- media type, trace id, unknown paths ---------------------------------------------------


@pytest.mark.parametrize(
    "accept", [None, "application/json", "*/*", BETA, "application/vnd.allegro.public.v2+json"]
)
def test_public_paths_want_the_public_v1_media_type(
    simulator: RunningSimulator, agency: Account, accept: str | None
) -> None:
    for path in ("/me", CLIENTS_PATH):
        assert_error_shape(api_get(simulator.base_url, path, agency.token, accept=accept), 406)


def test_answers_are_served_as_public_v1(simulator: RunningSimulator, agency: Account) -> None:
    answer = api_get(simulator.base_url, CLIENTS_PATH, agency.token)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == PUBLIC


def test_every_response_carries_a_trace_id(simulator: RunningSimulator, seller: Account) -> None:
    base = simulator.base_url
    answers = [
        api_get(base, "/me", seller.token),
        api_get(base, "/me", None),
        api_get(base, CLIENTS_PATH, seller.token),
        api_get(base, "/ads/clients", seller.token),
        api_get(base, "/no/such/path", seller.token),
        requests.get(authorize_url(base), timeout=TIMEOUT),
        token_request(base, {"grant_type": "refresh_token", "refresh_token": "x"}),
        requests.get(f"{base}/_sim/users", timeout=TIMEOUT),
    ]
    trace_ids = [a.headers.get("Trace-Id") for a in answers]
    assert all(trace_ids)
    assert len(set(trace_ids)) == len(trace_ids)


def test_unknown_api_path_is_404_in_the_error_shape(
    simulator: RunningSimulator, seller: Account
) -> None:
    assert_error_shape(api_get(simulator.base_url, "/advertising-agencies", seller.token), 404)


def test_sim_endpoints_are_marked(simulator: RunningSimulator) -> None:
    answer = requests.get(f"{simulator.base_url}/_sim/stats", timeout=TIMEOUT)
    assert answer.headers["X-Simulator"] == "true"
    assert "X-Simulator" not in api_get(simulator.base_url, "/me", None).headers


# --- /me -------------------------------------------------------------------------------------


def test_me_returns_the_seller_who_consented(simulator: RunningSimulator, seller: Account) -> None:
    me = api_get(simulator.base_url, "/me", seller.token).json()
    user = simulator.users()[0]
    assert (me["id"], me["login"], me["email"]) == (user["user_id"], "seller01", user["email"])
    assert me["firstName"] and me["lastName"] and me["company"]["name"] == user["name"]


def test_me_answers_an_agency_token_too(simulator: RunningSimulator, agency: Account) -> None:
    me = api_get(simulator.base_url, "/me", agency.token).json()
    assert (me["id"], me["login"]) == (simulator.agency()["user_id"], "agency")


def test_me_needs_no_scope(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "seller01", scope="allegro:api:sale:offers:read")
    assert api_get(simulator.base_url, "/me", tokens["access_token"]).status_code == 200


# --- scopes ----------------------------------------------------------------------------------


def test_agency_endpoints_need_the_ads_scope(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "agency", scope="allegro:api:profile:read")
    assert_forbidden(api_get(simulator.base_url, CLIENTS_PATH, tokens["access_token"]))
    assert simulator.stats()["forbidden"] == {"scope": 1}


def test_sale_offers_needs_the_offers_read_scope(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "seller01", scope="allegro:api:ads")
    assert_forbidden(api_get(simulator.base_url, OFFERS_PATH, tokens["access_token"]))


# --- the non-public Ads management API ---------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ads/clients", "/ads/clients/abc/statistics", "/ads/clients/abc/sponsored/campaigns"]
)
def test_non_public_ads_paths_answer_401_non_whitelisted(
    simulator: RunningSimulator, agency: Account, path: str
) -> None:
    for accept in (PUBLIC, BETA):
        answer = api_get(simulator.base_url, path, agency.token, accept=accept)
        assert_error_shape(answer, 401, code="UNAUTHORIZED")
        error = answer.json()["errors"][0]
        assert error["message"] == f"Non-whitelisted allegroId={simulator.agency()['user_id']}"
        assert error["userMessage"] == "Access to this resource is blocked"


def test_non_public_refusal_can_be_403(simulator_factory: Factory, consented: Consented) -> None:
    sim = simulator_factory(non_public_status=403)
    agency = consented(sim, "agency")
    assert_error_shape(api_get(sim.base_url, "/ads/clients", agency.token, accept=BETA), 403)


def test_non_public_paths_still_check_the_token_first(simulator: RunningSimulator) -> None:
    assert_oauth_error(api_get(simulator.base_url, "/ads/clients", "nope"), 401, "invalid_token")


# --- rate limit --------------------------------------------------------------------------------


def test_past_the_limit_the_client_id_is_blocked_for_a_whole_minute(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(rate_limit_per_minute=3)
    seller, other = consented(sim, "seller01"), consented(sim, "seller02")
    assert [api_get(sim.base_url, "/me", seller.token).status_code for _ in range(3)] == [200] * 3
    assert_error_shape(api_get(sim.base_url, "/me", seller.token), 429)
    # The limit is per application: another user of the same client id is blocked too.
    assert api_get(sim.base_url, "/me", other.token).status_code == 429
    sim.advance(55)
    assert api_get(sim.base_url, "/me", seller.token).status_code == 429  # still blocked
    sim.advance(6)
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200
    stats = sim.stats()
    assert stats["rate_limited"] == 3 and stats["responses_429"] == 3


def test_the_limits_window_rolls_with_the_clock(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(rate_limit_per_minute=2)
    seller = consented(sim, "seller01")
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200
    sim.advance(40)
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200
    sim.advance(21)  # the first call left the 60-second window
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200


def test_the_rate_limits_429_has_no_retry_after_by_default(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(rate_limit_per_minute=1)
    seller = consented(sim, "seller01")
    api_get(sim.base_url, "/me", seller.token)
    assert "Retry-After" not in api_get(sim.base_url, "/me", seller.token).headers


def test_retry_after_is_sent_when_configured(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(rate_limit_per_minute=1, send_retry_after=True)
    seller = consented(sim, "seller01")
    api_get(sim.base_url, "/me", seller.token)
    assert api_get(sim.base_url, "/me", seller.token).headers["Retry-After"] == "60"
    sim.advance(20)
    assert 37 <= int(api_get(sim.base_url, "/me", seller.token).headers["Retry-After"]) <= 40
