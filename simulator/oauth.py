"""The simulated Allegro OAuth server: login + consent page, token endpoint and the device flow.

- Authorization codes live ``code_ttl_seconds`` (10) and are spent by their first exchange.
- The token endpoint authenticates the application with HTTP Basic; an authorization-code
  exchange may instead come from a public client: ``client_id`` + ``code_verifier`` in the form,
  no Basic, for a code issued with a PKCE challenge.
- Refresh rotation: each refresh returns a new pair and kills the access token minted with the
  refresh token used; the used refresh token keeps working ``refresh_grace_seconds`` (60) after
  its first use (each use in the grace returns another fresh pair), then it is refused with
  400 ``invalid_grant`` "Invalid refresh token: …".
- ``scope``: space-separated, each registered for the application; none given means all the
  registered ones."""

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
from simulator.grants import AuthCode
from simulator.responses import dumps, html_response, oauth_error
from simulator.state import SimulatorState
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
        scope = self._scope(params.get("scope"))
        if scope is None:
            return _redirect(
                redirect_uri,
                error="invalid_scope",
                error_description="scope must name scopes registered for the application",
                state=state,
            )
        if request.method == "GET":
            return self._consent_form(params)
        if request.form.get("decision") != "approve":
            self.state.count("consents_denied")
            return _redirect(redirect_uri, error="access_denied", state=state)
        user = self.state.user_by_login(request.form.get("login", "").strip())
        if user is None:
            return self._consent_form(params, "Unknown login: no such Allegro account.")
        # The password is checked when sent; scripted browsers may send the login alone.
        password = request.form.get("password", "")
        if password and not self.state.check_password(user, password):
            return self._consent_form(params, "Wrong password for this login.")
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

    def _scope(self, asked: str | None) -> str | None:
        """The scope to grant for a request naming ``asked``: all registered scopes when none
        is named, None when one named is not registered for the application."""
        if not asked or not asked.strip():
            return self.config.default_scope
        names = asked.split()
        if any(name not in self.config.registered_scopes for name in names):
            return None
        return " ".join(dict.fromkeys(names))

    def _login_hints(self) -> list[str]:
        # A datalist of logins for people trying the simulator by hand; 50 is plenty.
        return [u.login for u in self.state.sellers[:50]] + [a.login for a in self.state.agencies]

    def _consent_form(self, params: dict[str, str], error: str = "") -> Response:
        logins = self._login_hints()
        scope = self._scope(params.get("scope")) or ""
        body = pages.consent_page(
            AUTHORIZE_PATH, params, self.config.client_id, scope, logins, error
        )
        return html_response(body)

    def _error_page(self, title: str, message: str) -> Response:
        return html_response(pages.message_page(title, message), 400)

    # --- token endpoint ------------------------------------------------------

    def token(self, request: Request) -> Response:
        """POST /auth/oauth/token: every grant type; the client authenticates with HTTP Basic
        (or, exchanging a PKCE code, as a public client)."""
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
        form = request.form
        if request.authorization is None and self._public_pkce_exchange(form, grant_type):
            return self._code_grant(form.get("code", ""), form)
        refused = self._client_auth(request)
        if refused:
            return refused
        if not grant_type:
            return oauth_error(400, "invalid_request", "grant_type is missing")
        if grant_type == "authorization_code":
            return self._code_grant(form.get("code", ""), form)
        if grant_type == "refresh_token":
            return self._refresh_grant(form.get("refresh_token", ""), form.get("redirect_uri"))
        if grant_type == DEVICE_GRANT:
            return self._device_grant(form.get("device_code", ""))
        return oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")

    def _public_pkce_exchange(self, form: Any, grant_type: str) -> bool:
        """Whether this is a public client's exchange: no Basic auth, but the application's
        client_id, a code_verifier, and a code that was issued with a PKCE challenge."""
        if grant_type != "authorization_code" or not form.get("code_verifier"):
            return False
        if not hmac.compare_digest(
            form.get("client_id", "").encode(), self.config.client_id.encode()
        ):
            return False
        code = self.state.peek_code(form.get("code", ""))
        return code is not None and code.challenge is not None

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
            "Bad client credentials: send client_id:client_secret with HTTP Basic "
            "(or, exchanging a PKCE code, client_id and code_verifier in the form)",
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
        grant, _why = self.state.spend_refresh_token(value)
        if grant is None:
            # Allegro names the token, not the reason (expired, rotated, revoked look alike).
            return oauth_error(400, "invalid_grant", f"Invalid refresh token: {value}")
        return mint_tokens(self.state, grant.user_id, grant.client_id, grant.scope)

    def _device_grant(self, device_code: str) -> Response | dict[str, Any]:
        if not device_code:
            return oauth_error(400, "invalid_request", "device_code is missing")
        poll = self.state.poll_device(device_code)
        if poll.grant is None or poll.grant.user_id is None:
            return oauth_error(400, poll.error, poll.description)
        return mint_tokens(self.state, poll.grant.user_id, poll.grant.client_id, poll.grant.scope)

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
            scope = self._scope(request.form.get("scope"))
            if scope is None:
                return oauth_error(
                    400, "invalid_scope", "scope must name scopes registered for the application"
                )
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
        error = self.state.confirm_device(
            form.get("user_code", ""), form.get("login", ""), approve, form.get("password", "")
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
