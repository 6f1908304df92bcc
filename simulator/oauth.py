"""The simulated Allegro OAuth server: consent page, token endpoint (authorization code,
refresh with rotation, device code) and the device flow's start and verification page."""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator import pages
from simulator.faults import malform, truncate
from simulator.responses import dumps, html_response, oauth_error
from simulator.state import DEFAULT_SCOPE, AuthCode, SimulatorState
from simulator.tokens import mint_tokens, pkce_challenge

AUTHORIZE_PATH = "/auth/oauth/authorize"
TOKEN_PATH = "/auth/oauth/token"  # noqa: S105 - a path, not a secret
DEVICE_PATH = "/auth/oauth/device"
DEVICE_VERIFY_PATH = "/auth/oauth/device/verify"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
_TOKEN_KINDS = {
    "authorization_code": "token_code",
    "refresh_token": "token_refresh",
    DEVICE_GRANT: "token_device",
}


def _redirect(uri: str, **params: str) -> Response:
    query = urlencode({k: v for k, v in params.items() if v})
    return Response(status=302, headers={"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"})


class OAuthEndpoints:
    """Handlers of the OAuth paths; all state lives in ``state``."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state
        self.config = state.config

    def rules(self) -> list[Rule]:
        """The URL rules, with bound handlers as endpoints."""
        return [
            Rule(AUTHORIZE_PATH, methods=["GET", "POST"], endpoint=self.authorize),
            Rule(TOKEN_PATH, methods=["POST"], endpoint=self.token),
            Rule(DEVICE_PATH, methods=["POST"], endpoint=self.device),
            Rule(DEVICE_VERIFY_PATH, methods=["GET", "POST"], endpoint=self.device_verify),
        ]

    # --- authorize (browser) -------------------------------------------------

    def authorize(self, request: Request) -> Response:
        """The consent page (GET) and its submission (POST)."""
        self.state.count("requests.authorize")
        source = request.form if request.method == "POST" else request.args
        params = {k: source[k] for k in AUTHORIZE_PARAMS if source.get(k)}
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        # Without a known client and an exactly registered redirect URI nothing may redirect:
        # that is what stops a forged link from sending codes to an attacker.
        if client_id != self.config.client_id:
            return self._error_page("Unknown application", f"unknown client_id {client_id!r}")
        if redirect_uri not in self.config.redirect_uris:
            return self._error_page(
                "Invalid redirect URI",
                f"redirect_uri {redirect_uri!r} is not registered for this application",
            )
        state = params.get("state", "")
        if params.get("response_type") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", state=state)
        challenge = params.get("code_challenge")
        if challenge and (
            params.get("code_challenge_method") != "S256" or not _CHALLENGE.match(challenge)
        ):
            return _redirect(
                redirect_uri,
                error="invalid_request",
                error_description="code_challenge must be S256 (43-128 base64url characters)",
                state=state,
            )
        scope = params.get("scope", DEFAULT_SCOPE)
        if any(not s.startswith("allegro:api:") for s in scope.split()):
            return _redirect(redirect_uri, error="invalid_scope", state=state)
        if request.method == "GET":
            return self._consent_form(params)
        if request.form.get("decision") != "approve":
            self.state.count("consents_denied")
            return _redirect(redirect_uri, error="access_denied", state=state)
        user = self.state.user_by_login(request.form.get("login", "").strip())
        if user is None:
            return self._consent_form(params, "Unknown login: no such Allegro account.")
        code = self.state.issue_code(
            AuthCode(
                client_id=client_id,
                redirect_uri=redirect_uri,
                user_id=user.user_id,
                scope=scope,
                challenge=challenge,
                expires_at=self.state.now() + self.config.code_ttl_seconds,
            )
        )
        self.state.count("consents_approved")
        return _redirect(redirect_uri, code=code, state=state)

    def _login_hints(self) -> list[str]:
        # A datalist of logins for people trying the simulator by hand; 50 is plenty.
        return [u.login for u in self.state.sellers[:50]] + [self.state.agency.login]

    def _consent_form(self, params: dict[str, str], error: str = "") -> Response:
        logins = self._login_hints()
        body = pages.consent_page(AUTHORIZE_PATH, params, self.config.client_id, logins, error)
        return html_response(body)

    def _error_page(self, title: str, message: str) -> Response:
        return html_response(pages.message_page(title, message), 400)

    # --- token endpoint ------------------------------------------------------

    def token(self, request: Request) -> Response:
        """POST /auth/oauth/token: every grant type, behind HTTP Basic client auth."""
        grant_type = request.form.get("grant_type", "")
        kind = _TOKEN_KINDS.get(grant_type, "token_other")
        self.state.count(f"requests.{kind}")
        response = self._with_faults(request, lambda: self._token(request, grant_type))
        if grant_type == "refresh_token":
            self.state.count("refreshes_ok" if response.status_code == 200 else "refreshes_failed")
        if response.status_code != 200:  # e.g. how many invalid_grant a load provoked
            self.state.count(f"token_errors.{_error_code(response)}")
        return response

    def _token(self, request: Request, grant_type: str) -> Response | dict[str, Any]:
        refused = self._client_auth(request)
        if refused:
            return refused
        form = request.form
        if not grant_type:
            return oauth_error(400, "invalid_request", "grant_type is missing")
        if grant_type == "authorization_code":
            return self._code_grant(form.get("code", ""), form)
        if grant_type == "refresh_token":
            return self._refresh_grant(form.get("refresh_token", ""), form.get("redirect_uri"))
        if grant_type == DEVICE_GRANT:
            return self._device_grant(form.get("device_code", ""))
        return oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")

    def _client_auth(self, request: Request) -> Response | None:
        auth = request.authorization
        ok = (
            auth is not None
            and auth.type == "basic"
            and hmac.compare_digest((auth.username or "").encode(), self.config.client_id.encode())
            and hmac.compare_digest(
                (auth.password or "").encode(), self.config.client_secret.encode()
            )
        )
        if ok:
            return None
        return oauth_error(
            401,
            "invalid_client",
            "Bad client credentials: send client_id:client_secret with HTTP Basic",
            headers={"WWW-Authenticate": 'Basic realm="allegro"'},
        )

    def _code_grant(self, value: str, form: Any) -> Response | dict[str, Any]:
        if not value:
            return oauth_error(400, "invalid_request", "code is missing")
        code = self.state.take_code(value)
        if code is None:
            return oauth_error(400, "invalid_grant", "Invalid authorization code (unknown or used)")
        if code.expires_at <= self.state.now():
            return oauth_error(400, "invalid_grant", "Authorization code expired")
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            return oauth_error(400, "invalid_request", "redirect_uri is missing")
        if redirect_uri != code.redirect_uri:
            return oauth_error(
                400, "invalid_grant", "redirect_uri does not match the authorize one"
            )
        verifier = form.get("code_verifier")
        if code.challenge is None and verifier:
            return oauth_error(400, "invalid_request", "code_verifier sent without code_challenge")
        if code.challenge is not None:
            if not verifier:
                return oauth_error(400, "invalid_grant", "code_verifier is required (PKCE)")
            if not hmac.compare_digest(pkce_challenge(verifier), code.challenge):
                return oauth_error(400, "invalid_grant", "code_verifier does not match (PKCE)")
        return mint_tokens(self.state, code.user_id, code.client_id, code.scope)

    def _refresh_grant(self, value: str, redirect_uri: str | None) -> Response | dict[str, Any]:
        if not value:
            return oauth_error(400, "invalid_request", "refresh_token is missing")
        if redirect_uri and redirect_uri not in self.config.redirect_uris:
            return oauth_error(400, "invalid_request", "redirect_uri is not registered")
        grant, why = self.state.spend_refresh_token(value)
        if grant is None:
            return oauth_error(400, "invalid_grant", f"Invalid refresh token: {why}")
        return mint_tokens(self.state, grant.user_id, grant.client_id, grant.scope)

    def _device_grant(self, device_code: str) -> Response | dict[str, Any]:
        if not device_code:
            return oauth_error(400, "invalid_request", "device_code is missing")
        now = self.state.now()
        with self.state.lock:
            grant = self.state.devices.get(device_code)
            if grant is None:
                return oauth_error(400, "invalid_grant", "Unknown device_code")
            if grant.expires_at <= now:
                del self.state.devices[device_code]
                return oauth_error(400, "expired_token", "The device code expired")
            if grant.denied:
                del self.state.devices[device_code]
                return oauth_error(400, "access_denied", "The user refused access")
            if grant.user_id is None:
                too_fast = (
                    grant.last_poll is not None
                    and now - grant.last_poll < self.config.device_interval_seconds
                )
                grant.last_poll = now
                if too_fast:
                    return oauth_error(400, "slow_down", "Polling faster than the interval")
                return oauth_error(400, "authorization_pending", "The user has not confirmed yet")
            del self.state.devices[device_code]
        return mint_tokens(self.state, grant.user_id, grant.client_id, grant.scope)

    def _with_faults(
        self, request: Request, handle: Callable[[], Response | dict[str, Any]]
    ) -> Response:
        """Run a JSON OAuth handler under the faults, which hit OAuth only with include_oauth."""
        before = self.state.fault_before(oauth=True, client_id=None)
        if before.delay_ms:
            time.sleep(before.delay_ms / 1000)
        if before.status is not None:
            headers = {"Retry-After": str(before.retry_after)} if before.retry_after else {}
            return oauth_error(
                before.status, "temporarily_unavailable", "Injected fault", headers=headers
            )
        result = handle()
        if isinstance(result, Response):
            return result
        after = self.state.fault_after(oauth=True, client_id=None)
        body = dumps(malform("token", result) if after.malformed else result)
        return Response(
            truncate(body) if after.truncate else body,
            200,
            content_type="application/json",
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    # --- device flow ---------------------------------------------------------

    def device(self, request: Request) -> Response:
        """POST /auth/oauth/device: start the device flow for the authenticated client."""
        self.state.count("requests.device")

        def start() -> Response | dict[str, Any]:
            refused = self._client_auth(request)
            if refused:
                return refused
            asked = request.form.get("client_id")
            if asked and asked != self.config.client_id:
                return oauth_error(400, "invalid_request", "client_id does not match Basic auth")
            scope = request.form.get("scope", DEFAULT_SCOPE)
            device_code, grant = self.state.start_device(self.config.client_id, scope)
            verify = request.host_url.rstrip("/") + DEVICE_VERIFY_PATH
            return {
                "device_code": device_code,
                "user_code": grant.user_code,
                "verification_uri": verify,
                "verification_uri_complete": f"{verify}?user_code={grant.user_code}",
                "expires_in": self.config.device_ttl_seconds,
                "interval": self.config.device_interval_seconds,
            }

        return self._with_faults(request, start)

    def device_verify(self, request: Request) -> Response:
        """The page where a user enters the device's code, logs in and decides."""
        logins = self._login_hints()
        if request.method == "GET":
            code = request.args.get("user_code", "")
            return html_response(pages.device_page(DEVICE_VERIFY_PATH, code, logins))
        form = request.form
        approve = form.get("decision") == "approve"
        error = confirm_device(
            self.state, form.get("user_code", ""), form.get("login", ""), approve
        )
        if error:
            page = pages.device_page(DEVICE_VERIFY_PATH, form.get("user_code", ""), logins, error)
            return html_response(page)
        done = "Device connected." if approve else "Access refused."
        return html_response(pages.message_page(done, "You can return to the application."))


def _error_code(response: Response) -> str:
    """The ``error`` of an OAuth error answer (``http_<status>`` if it has none)."""
    try:
        body = json.loads(response.get_data())
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error) if error else f"http_{response.status_code}"


def confirm_device(state: SimulatorState, user_code: str, login: str, approve: bool) -> str:
    """Approve or deny a pending device grant as ``login``; returns an error text or ""."""
    with state.lock:
        grant = state.device_by_user_code(user_code)
        if grant is None or grant.expires_at <= state.now():
            return "Unknown or expired code."
        if not approve:
            grant.denied = True
            return ""
        user = state.user_by_login(login.strip())
        if user is None:
            return "Unknown login: no such Allegro account."
        grant.user_id = user.user_id
        return ""
