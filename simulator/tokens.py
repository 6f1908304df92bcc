"""Minting the simulator's tokens: a JWT access token (HS256 over the simulator's signing key,
kept in its state file; payload as Allegro's: user_name = the Allegro user id, exp, scope as a
list, client_id, jti) and a random refresh token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

from simulator.state import SimulatorState

TOKEN_ISSUER = "allegro-simulator"  # noqa: S105 - an issuer name


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def encode_jwt(payload: dict[str, Any], key: bytes) -> str:
    """A compact HS256 JWT of ``payload``."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def issued_here(token: str, key: bytes) -> bool:
    """Whether ``token`` is a JWT this simulator signed (a live, expired or killed one)."""
    header, _, rest = token.partition(".")
    body, _, signature = rest.partition(".")
    if not (header and body and signature):
        return False
    expected = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(_b64url(expected), signature)


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE ``verifier``."""
    return _b64url(hashlib.sha256(verifier.encode()).digest())


def mint_tokens(state: SimulatorState, user_id: str, client_id: str, scope: str) -> dict[str, Any]:
    """Create, store and return a token response for ``user_id`` (Allegro's JSON shape:
    access_token, token_type "bearer", refresh_token, expires_in, scope, jti, …)."""
    now = state.now()
    ttl = state.config.access_ttl_seconds
    jti = str(uuid.uuid4())
    access = encode_jwt(
        {
            "user_name": user_id,
            "scope": scope.split(),
            "allegro_api": True,
            "iss": TOKEN_ISSUER,
            "exp": int(now + ttl),
            "jti": jti,
            "client_id": client_id,
        },
        state.signing_key,
    )
    refresh = secrets.token_urlsafe(48)
    state.store_tokens(access, refresh, user_id, client_id, scope, now)
    return {
        "access_token": access,
        "token_type": "bearer",
        "refresh_token": refresh,
        "expires_in": ttl,
        "scope": scope,
        "allegro_api": True,
        "iss": TOKEN_ISSUER,
        "jti": jti,
    }
