"""The simulated OAuth server follows allegro-api.md: login + consent page, 10-second
single-use codes, Basic client auth or the PKCE public-client exchange, scopes, the JWT access
token, refresh rotation with its 60-second grace, revocation, lifetimes, the device flow."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import requests

from simulator.server import RunningSimulator
from tests.simulator.sim_helpers import (
    CLIENT_ID,
    CLIENTS_PATH,
    PASSWORD,
    REDIRECT_URI,
    TIMEOUT,
    Account,
    api_get,
    assert_oauth_error,
    assert_token_expired,
    authorize_url,
    consent,
    exchange,
    get_code,
    jwt_claims,
    pkce_pair,
    read_form,
    redirect_query,
    refresh,
    submit_consent,
    token_request,
)

Factory = Callable[..., RunningSimulator]
Consented = Callable[[RunningSimulator, str], Account]
Seller = Account
REGISTERED = "allegro:api:ads allegro:api:sale:offers:read allegro:api:profile:read"


def _b64json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


_oauth_error = assert_oauth_error


# --- consent page ------------------------------------------------------------


def test_consent_page_is_a_form_with_login_and_approve_deny(simulator: RunningSimulator) -> None:
    url = authorize_url(simulator.base_url, state="abc", challenge=pkce_pair()[1])
    page = requests.get(url, timeout=TIMEOUT)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    form = read_form(page.text)
    assert form.method.lower() == "post"
    assert form.action.split("?")[0] == "/auth/oauth/authorize"
    assert "login" in form.inputs and "password" in form.inputs
    assert ("decision", "approve") in form.buttons
    assert ("decision", "deny") in form.buttons
    assert form.hidden["state"] == "abc"
    assert form.hidden["redirect_uri"] == REDIRECT_URI
    assert form.hidden["code_challenge_method"] == "S256"


def test_unknown_client_id_gets_an_error_page_and_no_redirect(simulator: RunningSimulator) -> None:
    url = authorize_url(simulator.base_url, client_id="somebody-else")
    page = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "client_id" in page.text


def test_redirect_uri_must_match_exactly(simulator: RunningSimulator) -> None:
    for near_miss in (
        REDIRECT_URI + "/",
        REDIRECT_URI + "?next=/",
        REDIRECT_URI.replace("127.0.0.1", "localhost"),
        REDIRECT_URI.replace(":8000", ":8001"),
        REDIRECT_URI.upper(),
        "https://evil.example/oauth/callback",
    ):
        url = authorize_url(simulator.base_url, redirect_uri=near_miss)
        for page in (
            requests.get(url, allow_redirects=False, timeout=TIMEOUT),
            requests.post(
                f"{simulator.base_url}/auth/oauth/authorize",
                data={
                    "response_type": "code",
                    "client_id": CLIENT_ID,
                    "redirect_uri": near_miss,
                    "login": "seller01",
                    "decision": "approve",
                },
                allow_redirects=False,
                timeout=TIMEOUT,
            ),
        ):
            assert page.status_code == 400, near_miss
            assert "Location" not in page.headers


def test_approve_redirects_with_code_and_state(simulator: RunningSimulator) -> None:
    answer = submit_consent(authorize_url(simulator.base_url, state="s-42"), "seller01")
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    query = redirect_query(answer)
    assert query["state"] == "s-42"
    assert len(query["code"]) >= 20


def test_deny_redirects_with_access_denied_and_state(simulator: RunningSimulator) -> None:
    answer = submit_consent(authorize_url(simulator.base_url, state="s-7"), "seller01", "deny")
    assert redirect_query(answer) == {"error": "access_denied", "state": "s-7"}


def test_unknown_login_shows_the_form_again_with_an_error(simulator: RunningSimulator) -> None:
    answer = submit_consent(authorize_url(simulator.base_url), "no-such-seller")
    assert answer.status_code == 200
    assert "Location" not in answer.headers
    form = read_form(answer.text)
    assert "Unknown login" in form.error
    assert form.hidden["client_id"] == CLIENT_ID  # the form keeps the request's parameters


def test_a_wrong_password_shows_the_form_again(simulator: RunningSimulator) -> None:
    answer = submit_consent(authorize_url(simulator.base_url), "seller01", password="nope")
    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "Wrong password" in read_form(answer.text).error


def test_the_right_password_or_none_is_accepted(simulator: RunningSimulator) -> None:
    for password in (PASSWORD, None):
        answer = submit_consent(authorize_url(simulator.base_url), "seller01", password=password)
        assert redirect_query(answer)["code"]


def test_the_agency_account_consents_like_any_account(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "agency")
    listed = api_get(simulator.base_url, CLIENTS_PATH, tokens["access_token"])
    assert listed.status_code == 200 and listed.json()["clients"]


def test_an_unregistered_scope_redirects_with_invalid_scope(simulator: RunningSimulator) -> None:
    for scope in ("allegro:api:orders:read", "allegro:api:ads openid"):
        url = authorize_url(simulator.base_url, scope=scope, state="s-1")
        query = redirect_query(requests.get(url, allow_redirects=False, timeout=TIMEOUT))
        assert (query["error"], query["state"]) == ("invalid_scope", "s-1")


def test_wrong_response_type_redirects_with_an_error(simulator: RunningSimulator) -> None:
    url = authorize_url(simulator.base_url).replace("response_type=code", "response_type=token")
    answer = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert redirect_query(answer)["error"] == "unsupported_response_type"


def test_plain_pkce_method_is_refused(simulator: RunningSimulator) -> None:
    url = authorize_url(simulator.base_url, challenge=pkce_pair()[1]).replace("S256", "plain")
    answer = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert redirect_query(answer)["error"] == "invalid_request"


# --- authorization code -------------------------------------------------------


def test_token_response_has_allegros_shape_and_a_jwt(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "seller01")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 43199
    assert tokens["refresh_token"] and tokens["jti"]
    header, payload, signature = tokens["access_token"].split(".")
    assert _b64json(header) == {"alg": "HS256", "typ": "JWT"}
    claims = _b64json(payload)
    user = simulator.users()[0]
    assert claims["user_name"] == user["user_id"]
    assert claims["client_id"] == CLIENT_ID
    assert claims["jti"] == tokens["jti"]
    assert abs(claims["exp"] - (simulator.clock()["now"] + 43199)) < 5
    assert claims["scope"] == tokens["scope"].split() and signature


def test_without_a_scope_the_registered_scopes_are_granted(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "seller01")
    assert tokens["scope"] == REGISTERED
    assert jwt_claims(tokens["access_token"])["scope"] == REGISTERED.split()


def test_the_scope_asked_for_is_the_scope_granted(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "seller01", scope="allegro:api:sale:offers:read")
    assert tokens["scope"] == "allegro:api:sale:offers:read"
    assert jwt_claims(tokens["access_token"])["scope"] == ["allegro:api:sale:offers:read"]
    renewed = refresh(simulator.base_url, tokens["refresh_token"]).json()
    assert renewed["scope"] == "allegro:api:sale:offers:read"  # a refresh keeps the scope


def test_code_is_single_use(simulator: RunningSimulator) -> None:
    verifier, challenge = pkce_pair()
    code = get_code(simulator.base_url, "seller01", challenge)
    assert exchange(simulator.base_url, code, verifier).status_code == 200
    _oauth_error(exchange(simulator.base_url, code, verifier), 400, "invalid_grant")


def test_a_code_lives_ten_seconds(simulator: RunningSimulator) -> None:
    in_time, too_late = (get_code(simulator.base_url, "seller01") for _ in range(2))
    simulator.advance(8)  # 2 s left for real time to pass
    assert exchange(simulator.base_url, in_time).status_code == 200
    simulator.advance(2)
    _oauth_error(exchange(simulator.base_url, too_late), 400, "invalid_grant")


def test_code_expires_after_code_ttl(simulator_factory: Factory) -> None:
    sim = simulator_factory(code_ttl_seconds=5)
    code = get_code(sim.base_url, "seller01")
    sim.advance(6)
    _oauth_error(exchange(sim.base_url, code), 400, "invalid_grant")


def test_code_exchange_needs_the_redirect_uri_used_at_authorize(simulator_factory: Factory) -> None:
    other = "http://127.0.0.1:9000/cb"
    sim = simulator_factory(redirect_uris=(REDIRECT_URI, other))
    code = get_code(sim.base_url, "seller01", redirect_uri=REDIRECT_URI)
    _oauth_error(exchange(sim.base_url, code, redirect_uri=other), 400, "invalid_grant")


def test_pkce_verifier_mismatch_is_invalid_grant(simulator: RunningSimulator) -> None:
    _, challenge = pkce_pair()
    code = get_code(simulator.base_url, "seller01", challenge)
    _oauth_error(exchange(simulator.base_url, code, pkce_pair()[0]), 400, "invalid_grant")


def test_pkce_verifier_is_required_when_a_challenge_was_sent(simulator: RunningSimulator) -> None:
    code = get_code(simulator.base_url, "seller01", pkce_pair()[1])
    _oauth_error(exchange(simulator.base_url, code), 400, "invalid_grant")


def test_code_without_pkce_needs_no_verifier(simulator: RunningSimulator) -> None:
    tokens = consent(simulator.base_url, "seller02", pkce=False)
    assert tokens["access_token"]


def test_a_public_client_exchanges_a_pkce_code_without_basic_auth(
    simulator: RunningSimulator,
) -> None:
    verifier, challenge = pkce_pair()
    code = get_code(simulator.base_url, "seller01", challenge)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "code_verifier": verifier,
    }
    answer = token_request(simulator.base_url, data, auth=None)
    assert answer.status_code == 200, answer.text
    assert api_get(simulator.base_url, "/me", answer.json()["access_token"]).status_code == 200


def test_a_public_client_needs_a_pkce_code_and_its_client_id(simulator: RunningSimulator) -> None:
    plain = get_code(simulator.base_url, "seller01")  # issued without a challenge
    verifier, challenge = pkce_pair()
    pkce = get_code(simulator.base_url, "seller01", challenge)
    base = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}
    for data in (
        {**base, "code": plain, "client_id": CLIENT_ID, "code_verifier": verifier},
        {**base, "code": pkce, "client_id": "other-app", "code_verifier": verifier},
        {**base, "code": pkce, "client_id": CLIENT_ID},
    ):
        _oauth_error(token_request(simulator.base_url, data, auth=None), 401, "invalid_client")
    # Refusing the client spent neither code.
    assert exchange(simulator.base_url, plain).status_code == 200
    assert exchange(simulator.base_url, pkce, verifier).status_code == 200


def test_a_public_client_with_a_wrong_verifier_is_invalid_grant(
    simulator: RunningSimulator,
) -> None:
    _, challenge = pkce_pair()
    code = get_code(simulator.base_url, "seller01", challenge)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "code_verifier": pkce_pair()[0],
    }
    _oauth_error(token_request(simulator.base_url, data, auth=None), 400, "invalid_grant")


def test_token_endpoint_requires_basic_client_auth(simulator: RunningSimulator) -> None:
    code = get_code(simulator.base_url, "seller01")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    for auth in (None, (CLIENT_ID, "wrong-secret"), ("other-app", "x")):
        answer = token_request(simulator.base_url, data, auth=auth)
        _oauth_error(answer, 401, "invalid_client")
    # Refusing the client did not spend the code.
    assert exchange(simulator.base_url, code).status_code == 200


def test_missing_or_unknown_grant_type_is_refused(simulator: RunningSimulator) -> None:
    _oauth_error(token_request(simulator.base_url, {}), 400, "invalid_request")
    _oauth_error(
        token_request(simulator.base_url, {"grant_type": "password"}),
        400,
        "unsupported_grant_type",
    )


# --- refresh, rotation, grace, revocation, lifetimes --------------------------------


def test_refresh_returns_a_new_pair(simulator: RunningSimulator, seller: Seller) -> None:
    answer = refresh(simulator.base_url, seller.tokens["refresh_token"])
    assert answer.status_code == 200
    new = answer.json()
    assert new["access_token"] != seller.token
    assert new["refresh_token"] != seller.tokens["refresh_token"]
    assert new["expires_in"] == 43199
    assert api_get(simulator.base_url, "/me", new["access_token"]).status_code == 200


def test_a_used_refresh_token_works_for_60_more_seconds(
    simulator: RunningSimulator, seller: Seller
) -> None:
    old = seller.tokens["refresh_token"]
    first = refresh(simulator.base_url, old).json()
    simulator.advance(55)  # within the grace even if real seconds pass meanwhile
    again = refresh(simulator.base_url, old)
    assert again.status_code == 200
    second = again.json()
    # Within the grace a second use returns another fresh pair ...
    assert second["access_token"] not in (seller.token, first["access_token"])
    assert second["refresh_token"] != first["refresh_token"]
    # ... and kills nothing more: the first refresh's pair still works.
    assert api_get(simulator.base_url, "/me", first["access_token"]).status_code == 200
    assert api_get(simulator.base_url, "/me", second["access_token"]).status_code == 200
    assert refresh(simulator.base_url, first["refresh_token"]).status_code == 200
    assert simulator.stats()["refreshes_in_grace"] == 1


def test_after_the_grace_a_used_refresh_token_is_invalid_grant(
    simulator: RunningSimulator, seller: Seller
) -> None:
    old = seller.tokens["refresh_token"]
    new = refresh(simulator.base_url, old).json()["refresh_token"]
    simulator.advance(60)
    answer = refresh(simulator.base_url, old)
    _oauth_error(answer, 400, "invalid_grant")
    assert answer.json()["error_description"] == f"Invalid refresh token: {old}"
    assert refresh(simulator.base_url, new).status_code == 200


def test_the_grace_is_a_setting(simulator_factory: Factory, consented: Consented) -> None:
    sim = simulator_factory(refresh_grace_seconds=0)
    seller = consented(sim, "seller01")
    assert refresh(sim.base_url, seller.tokens["refresh_token"]).status_code == 200
    _oauth_error(refresh(sim.base_url, seller.tokens["refresh_token"]), 400, "invalid_grant")


def test_a_refresh_kills_the_access_token_issued_with_the_used_refresh_token(
    simulator: RunningSimulator, seller: Seller
) -> None:
    refresh(simulator.base_url, seller.tokens["refresh_token"])
    assert_token_expired(api_get(simulator.base_url, "/me", seller.token), seller.token)


def test_refresh_token_expires_after_refresh_ttl(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(refresh_ttl_seconds=100)
    seller = consented(sim, "seller01")
    sim.advance(101)
    _oauth_error(refresh(sim.base_url, seller.tokens["refresh_token"]), 400, "invalid_grant")


def test_access_token_expires_after_access_ttl(
    simulator_factory: Factory, consented: Consented
) -> None:
    sim = simulator_factory(access_ttl_seconds=2)
    seller = consented(sim, "seller01")
    assert seller.tokens["expires_in"] == 2
    assert api_get(sim.base_url, "/me", seller.token).status_code == 200
    sim.advance(3)
    assert_token_expired(api_get(sim.base_url, "/me", seller.token), seller.token)
    # The refresh token outlives the access token.
    assert refresh(sim.base_url, seller.tokens["refresh_token"]).status_code == 200


def test_revoked_consent_kills_access_and_refresh_tokens(
    simulator: RunningSimulator, seller: Seller
) -> None:
    simulator.revoke(seller.login)
    assert api_get(simulator.base_url, "/me", seller.token).status_code == 401
    answer = refresh(simulator.base_url, seller.tokens["refresh_token"])
    _oauth_error(answer, 400, "invalid_grant")


def test_revocation_also_ends_a_used_refresh_tokens_grace(
    simulator: RunningSimulator, seller: Seller
) -> None:
    refresh(simulator.base_url, seller.tokens["refresh_token"])
    simulator.revoke(seller.login)
    _oauth_error(refresh(simulator.base_url, seller.tokens["refresh_token"]), 400, "invalid_grant")


def test_consents_are_listed_until_revoked(simulator: RunningSimulator, seller: Seller) -> None:
    consents = simulator.consents()
    assert [(c["login"], c["scope"]) for c in consents] == [("seller01", REGISTERED)]
    simulator.revoke(seller.login)
    assert simulator.consents() == []


def test_revocation_touches_only_that_user(
    simulator: RunningSimulator, seller: Seller, consented: Consented
) -> None:
    other = consented(simulator, "seller02")
    simulator.revoke(seller.login)
    assert api_get(simulator.base_url, "/me", other.token).status_code == 200


def test_a_new_consent_after_revocation_works(simulator: RunningSimulator, seller: Seller) -> None:
    simulator.revoke(seller.login)
    again = consent(simulator.base_url, seller.login)
    assert api_get(simulator.base_url, "/me", again["access_token"]).status_code == 200
    assert refresh(simulator.base_url, again["refresh_token"]).status_code == 200


def test_refreshes_are_counted_ok_and_failed(simulator: RunningSimulator, seller: Seller) -> None:
    before = simulator.stats()
    assert before["refreshes_ok"] == before["refreshes_failed"] == 0
    refresh(simulator.base_url, seller.tokens["refresh_token"])
    simulator.advance(61)
    refresh(simulator.base_url, seller.tokens["refresh_token"])  # rotated, grace over: fails
    after = simulator.stats()
    assert after["refreshes_ok"] == 1
    assert after["refreshes_failed"] == 1
    assert after["requests"]["token_refresh"] == 2
    assert after["requests"]["token_code"] == 1


# --- device flow ---------------------------------------------------------------


def _start_device(sim: RunningSimulator) -> dict[str, Any]:
    answer = requests.post(
        f"{sim.base_url}/auth/oauth/device",
        data={"client_id": CLIENT_ID},
        auth=(CLIENT_ID, sim.app.config.client_secret),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    started: dict[str, Any] = answer.json()
    return started


def _poll(sim: RunningSimulator, device_code: str) -> requests.Response:
    data = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device_code,
    }
    return token_request(sim.base_url, data)


def test_device_flow_is_pending_until_the_user_confirms(simulator_factory: Factory) -> None:
    sim = simulator_factory(device_interval_seconds=0)
    started = _start_device(sim)
    assert {"device_code", "user_code", "verification_uri", "interval", "expires_in"} <= set(
        started
    )
    _oauth_error(_poll(sim, started["device_code"]), 400, "authorization_pending")
    sim.confirm_device(started["user_code"], "seller03")
    tokens = _poll(sim, started["device_code"]).json()
    me = api_get(sim.base_url, "/me", tokens["access_token"]).json()
    assert me["login"] == "seller03"
    _oauth_error(_poll(sim, started["device_code"]), 400, "invalid_grant")  # used up


def test_device_flow_says_slow_down_when_polled_too_fast(simulator: RunningSimulator) -> None:
    started = _start_device(simulator)
    _oauth_error(_poll(simulator, started["device_code"]), 400, "authorization_pending")
    _oauth_error(_poll(simulator, started["device_code"]), 400, "slow_down")


def test_device_flow_can_be_confirmed_on_the_verification_page(simulator: RunningSimulator) -> None:
    started = _start_device(simulator)
    page = requests.get(
        started["verification_uri"], params={"user_code": started["user_code"]}, timeout=TIMEOUT
    )
    form = read_form(page.text)
    assert {"user_code", "login"} <= set(form.inputs)
    answer = requests.post(
        started["verification_uri"],
        data={"user_code": started["user_code"], "login": "seller02", "decision": "approve"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200 and "connected" in answer.text
    simulator.advance(10)  # past the polling interval
    assert _poll(simulator, started["device_code"]).status_code == 200


def test_the_agency_account_authorises_by_device_flow(simulator_factory: Factory) -> None:
    sim = simulator_factory(device_interval_seconds=0)
    started = _start_device(sim)
    sim.confirm_device(started["user_code"], "agency")
    tokens = _poll(sim, started["device_code"]).json()
    assert tokens["scope"] == REGISTERED
    listed = api_get(sim.base_url, CLIENTS_PATH, tokens["access_token"]).json()["clients"]
    assert [c["id"] for c in listed] == [u["ads_client_id"] for u in sim.users()]


def test_device_start_answers_the_documented_fields(simulator: RunningSimulator) -> None:
    started = _start_device(simulator)
    assert set(started) == {
        "device_code", "user_code", "verification_uri", "verification_uri_complete",
        "expires_in", "interval",
    }  # fmt: skip
    assert started["verification_uri_complete"].endswith(f"user_code={started['user_code']}")


def test_the_verification_page_checks_the_password(simulator: RunningSimulator) -> None:
    started = _start_device(simulator)
    refused = requests.post(
        started["verification_uri"],
        data={
            "user_code": started["user_code"],
            "login": "agency",
            "password": "nope",
            "decision": "approve",
        },
        timeout=TIMEOUT,
    )
    assert "wrong password" in read_form(refused.text).error
    simulator.advance(10)
    _oauth_error(_poll(simulator, started["device_code"]), 400, "authorization_pending")


def test_device_flow_denied_by_the_user(simulator: RunningSimulator) -> None:
    started = _start_device(simulator)
    requests.post(
        f"{simulator.base_url}/_sim/device/confirm",
        json={"user_code": started["user_code"], "decision": "deny"},
        timeout=TIMEOUT,
    )
    _oauth_error(_poll(simulator, started["device_code"]), 400, "access_denied")


def test_device_code_expires(simulator: RunningSimulator) -> None:
    started = _start_device(simulator)
    simulator.advance(started["expires_in"] + 1)
    _oauth_error(_poll(simulator, started["device_code"]), 400, "expired_token")
