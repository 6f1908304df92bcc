"""Allegro's OAuth 2.0 endpoints over plain HTTP: authorization URL, code exchange (HTTP Basic,
or PKCE as a public client), refresh, and the device flow.

Each authorisation asks for what its account needs: ``agency_scope`` for the agency account,
``sales_scope`` for a customer's sales account (settings). Tokens, codes and verifiers never
reach a log, an error message or a ``repr``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests

from allegro_resource.calllog import CallLogSink
from allegro_resource.errors import (
    AllegroError,
    AllegroUnavailable,
    InvalidClient,
    InvalidGrant,
    MalformedResponse,
    OAuthError,
)
from allegro_resource.models import TokenResponse, TokenSet, _Model
from allegro_resource.transport import HttpRequest, Parser, RetryPolicy, Transport, validate_body
from settings.defaults import AGENCY_SCOPE, HTTP_TIMEOUT_SECONDS, SALES_SCOPE

M = TypeVar("M", bound=_Model)

__all__ = [
    "AUTHORIZE_PATH",
    "DEVICE_PATH",
    "TOKEN_PATH",
    "AllegroUnavailable",
    "DeviceAuthorization",
    "DeviceAuthorizationDenied",
    "DeviceCodeExpired",
    "InvalidClient",
    "InvalidGrant",
    "MalformedResponse",
    "OAuthClient",
    "OAuthError",
    "Pkce",
    "new_pkce",
    "s256_challenge",
]

AUTHORIZE_PATH = "/auth/oauth/authorize"
TOKEN_PATH = "/auth/oauth/token"  # noqa: S105 - a path, not a password
DEVICE_PATH = "/auth/oauth/device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP_SECONDS = 5  # RFC 8628, 3.5: after slow_down poll this much less often


class DeviceAuthorizationDenied(OAuthError):
    """The user refused the device authorisation (``access_denied``)."""

    def __init__(self, description: str = "", status: int | None = 400) -> None:
        super().__init__("access_denied", description, status)
        self.args = (
            "the authorisation was refused on Allegro's page; run the command again and "
            "approve it with the account to connect",
        )


class DeviceCodeExpired(OAuthError):
    """The device code expired before the user confirmed (``expired_token``)."""

    def __init__(self, description: str = "", status: int | None = 400) -> None:
        super().__init__("expired_token", description, status)
        self.args = (
            "the code expired before it was confirmed on Allegro's page; run the command again "
            "and confirm the new code in time",
        )


@dataclass(frozen=True, slots=True)
class Pkce:
    """A PKCE pair (RFC 7636, S256): send ``challenge`` to authorize, ``verifier`` to exchange."""

    verifier: str
    challenge: str
    method: str = "S256"

    def __repr__(self) -> str:  # the verifier is a credential
        return f"Pkce(challenge={self.challenge!r}, method={self.method!r})"


def new_pkce() -> Pkce:
    """A fresh random verifier (86 URL-safe characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    return Pkce(verifier=verifier, challenge=s256_challenge(verifier))


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636, section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _DeviceResponse(_Model):
    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int = 5
    verification_uri_complete: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """A started device flow: show ``user_code`` and ``verification_uri`` to the user."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: datetime
    interval_seconds: int

    def __repr__(self) -> str:
        return f"DeviceAuthorization(user_code={self.user_code!r}, expires_at={self.expires_at})"


class OAuthClient:
    """Talks to Allegro's OAuth endpoints for one registered application; thread-safe."""

    def __init__(
        self,
        auth_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        timeout: float = HTTP_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
        call_log: CallLogSink | None = None,
        max_attempts: int = 3,
        max_retry_seconds: float = 30.0,
        clock: Callable[[], datetime] | None = None,
        run_id: str | None = None,
        agency_scope: str = AGENCY_SCOPE,
        sales_scope: str = SALES_SCOPE,
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        # What each kind of account is asked for (settings ALLEGRO_ADS_AGENCY_SCOPE/SALES_SCOPE).
        self.agency_scope = agency_scope
        self.sales_scope = sales_scope
        # What ``expires_at`` counts from; the token manager's clock where time is simulated.
        self._clock = clock or _now
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.run_id = run_id  # marks every logged call, e.g. the pipeline run that refreshed
        self._transport = Transport(
            policy=RetryPolicy(max_attempts=max_attempts, max_retry_seconds=max_retry_seconds),
            timeout=timeout,
            call_log=call_log,
            session=session,
        )

    def __repr__(self) -> str:
        return f"OAuthClient(auth_url={self.auth_url!r}, client_id={self.client_id!r})"

    def authorization_url(
        self, state: str, code_challenge: str | None, scope: str | None = None
    ) -> str:
        """The URL to send the browser to (PKCE S256 when ``code_challenge`` is set); ``scope``:
        ``sales_scope`` for a customer, ``agency_scope`` for the agency account (None: Allegro
        grants every scope registered for the application)."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
        }
        if code_challenge:
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        if scope:
            params["scope"] = scope
        return f"{self.auth_url}{AUTHORIZE_PATH}?{urlencode(params)}"

    def exchange_code(
        self,
        code: str,
        code_verifier: str | None = None,
        *,
        customer_id: str | None = None,
        public_client: bool = False,
    ) -> TokenSet:
        """Trade an authorization code for tokens (it lives 10 seconds: exchange at once);
        ``InvalidGrant`` if it is used or expired.

        ``public_client``: authenticate with the PKCE verifier alone (``client_id`` in the form,
        no Basic auth), as Allegro allows for a code issued with a challenge.
        """
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        if public_client:
            if not code_verifier:
                raise ValueError("a public-client exchange needs the PKCE code_verifier")
            form["client_id"] = self.client_id
        return self._token_request(form, customer_id, basic=not public_client)

    def refresh(self, refresh_token: str, *, customer_id: str | None = None) -> TokenSet:
        """A new token pair (the old refresh token dies); ``InvalidGrant`` once revoked."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "redirect_uri": self.redirect_uri,
        }
        return self._token_request(form, customer_id)

    def start_device_flow(self, scope: str | None = None) -> DeviceAuthorization:
        """Start the device flow (the agency account's: ``scope`` defaults to ``agency_scope``);
        show the user code and URL, then ``wait_for_device_token`` (or ``poll_device_token``)."""
        form = {"client_id": self.client_id, "scope": scope or self.agency_scope}
        request = self._request(DEVICE_PATH, form, None)
        answer = self._transport.send(
            request, _parser(_DeviceResponse, DEVICE_PATH), on_error=oauth_error
        )
        return DeviceAuthorization(
            device_code=answer.device_code,
            user_code=answer.user_code,
            verification_uri=answer.verification_uri,
            verification_uri_complete=answer.verification_uri_complete,
            expires_at=self._clock() + timedelta(seconds=answer.expires_in),
            interval_seconds=answer.interval,
        )

    def poll_device_token(self, device_code: str) -> TokenSet | None:
        """Tokens once the user confirmed; None while pending (poll again after the interval;
        after a ``slow_down`` the interval must grow: ``wait_for_device_token`` does it).

        Raises ``DeviceAuthorizationDenied`` (the user refused), ``DeviceCodeExpired``, or
        ``InvalidGrant`` (the code was already used).
        """
        polled = self._poll_device(device_code)
        return polled if isinstance(polled, TokenSet) else None

    def wait_for_device_token(
        self,
        device: DeviceAuthorization,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_poll: Callable[[str], None] | None = None,
    ) -> TokenSet:
        """Poll every ``interval`` seconds until the user confirms; ``slow_down`` adds 5 s to
        the interval (RFC 8628). ``on_poll`` sees each pending answer (``authorization_pending``
        or ``slow_down``). Raises ``DeviceCodeExpired`` once ``expires_at`` passes (by this
        client's clock) or Allegro says so, ``DeviceAuthorizationDenied`` on a refusal."""
        interval = float(max(device.interval_seconds, 1))
        while True:
            if self._clock() >= device.expires_at:
                raise DeviceCodeExpired("the device code expired while waiting")
            sleep(interval)
            polled = self._poll_device(device.device_code)
            if isinstance(polled, TokenSet):
                return polled
            if polled == "slow_down":
                interval += SLOW_DOWN_STEP_SECONDS
            if on_poll is not None:
                on_poll(polled)

    def _poll_device(self, device_code: str) -> TokenSet | str:
        """Tokens, or the pending error (``authorization_pending`` / ``slow_down``)."""
        try:
            return self._token_request({"grant_type": DEVICE_GRANT, "device_code": device_code})
        except OAuthError as exc:
            if exc.error in {"authorization_pending", "slow_down"}:
                return exc.error
            if exc.error == "access_denied":
                raise DeviceAuthorizationDenied(exc.description, exc.status) from None
            if exc.error == "expired_token":
                raise DeviceCodeExpired(exc.description, exc.status) from None
            raise

    def close(self) -> None:
        """Close the HTTP sessions this client opened."""
        self._transport.close()

    def _token_request(
        self, form: Mapping[str, str], customer_id: str | None = None, *, basic: bool = True
    ) -> TokenSet:
        request = self._request(TOKEN_PATH, form, customer_id, basic=basic)
        answer = self._transport.send(
            request, _parser(TokenResponse, TOKEN_PATH), on_error=oauth_error
        )
        return TokenSet(
            access_token=answer.access_token,
            refresh_token=answer.refresh_token,
            expires_at=self._clock() + timedelta(seconds=answer.expires_in),
            scope=answer.scope,
        )

    def _request(
        self, path: str, form: Mapping[str, str], customer_id: str | None, *, basic: bool = True
    ) -> HttpRequest:
        return HttpRequest(
            method="POST",
            url=f"{self.auth_url}{path}",
            headers={"Accept": "application/json"},
            data=form,
            auth=(self.client_id, self._client_secret) if basic else None,
            customer_id=customer_id,
            run_id=self.run_id,
        )


def oauth_error(request: HttpRequest, response: requests.Response) -> AllegroError:
    """Map an OAuth error answer (``{"error", "error_description"}``) to its typed error."""
    body = _json_object(response)
    error = str(body.get("error") or f"http_{response.status_code}")
    description = str(body.get("error_description") or "")
    if error == "invalid_grant":
        return InvalidGrant(description, response.status_code)
    if error == "invalid_client" or response.status_code == 401:
        return InvalidClient(description, response.status_code)
    return OAuthError(error, description, response.status_code)


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _parser(model: type[M], endpoint: str) -> Parser[M]:
    """A transport parser validating the body as ``model``."""

    def parse(response: requests.Response) -> tuple[M, None]:
        return validate_body(model, response, endpoint=endpoint), None

    return parse


def _now() -> datetime:
    return datetime.now(UTC)
