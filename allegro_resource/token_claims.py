"""What an access token says about itself: Allegro's access tokens are JWTs whose payload names
the scopes granted. Read without verifying the signature: only to explain a 403 (which scope
is missing), never to decide what the token may do."""

from __future__ import annotations

import base64
import binascii
import json


def token_scopes(access_token: str) -> frozenset[str] | None:
    """The scopes in the token's JWT payload (``scope``: a list or a space-separated string);
    None when the token is not a JWT or names no scope."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    scope = claims.get("scope") if isinstance(claims, dict) else None
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        return frozenset(scope)
    return None
