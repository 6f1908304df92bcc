"""Building the simulator's HTTP answers: Allegro's REST error shape, OAuth-style errors (the
token endpoint's and the API's 401s), JSON."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

PUBLIC_MEDIA_TYPE = "application/vnd.allegro.public.v1+json"


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON (Polish names stay readable)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    document: Any,
    status: int = 200,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON answer."""
    return Response(dumps(document), status, headers=headers, content_type=content_type)


def api_error(
    status: int,
    code: str,
    message: str,
    *,
    path: str | None = None,
    user_message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One error in Allegro's REST shape: ``{"errors": [{code, message, details, path,
    userMessage}]}`` (``userMessage`` is ``message`` unless given)."""
    return api_errors(status, [error_entry(code, message, path, user_message)], headers=headers)


def error_entry(
    code: str, message: str, path: str | None = None, user_message: str | None = None
) -> dict[str, Any]:
    """One element of the ``errors`` list."""
    return {
        "code": code,
        "message": message,
        "details": None,
        "path": path,
        "userMessage": user_message or message,
    }


def api_errors(
    status: int, errors: list[dict[str, Any]], *, headers: dict[str, str] | None = None
) -> Response:
    """Several errors in Allegro's REST shape (e.g. every invalid parameter at once)."""
    return json_response(
        {"errors": errors}, status, content_type=PUBLIC_MEDIA_TYPE, headers=headers
    )


def forbidden(path: str) -> Response:
    """403 as Allegro sends it for "not your client", "not a partner", "missing scope"."""
    return api_error(403, "FORBIDDEN", "Access is forbidden", path=path)


def invalid_token(description: str, error: str = "invalid_token") -> Response:
    """An API 401: OAuth-style, as Allegro's resource servers answer a bad bearer token."""
    return oauth_error(
        401, error, description, headers={"WWW-Authenticate": f'Bearer error="{error}"'}
    )


def oauth_error(
    status: int, error: str, description: str, *, headers: dict[str, str] | None = None
) -> Response:
    """An OAuth-style error: ``{"error", "error_description"}``."""
    return json_response(
        {"error": error, "error_description": description},
        status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def html_response(body: str, status: int = 200) -> Response:
    """An HTML page."""
    return Response(body, status, content_type="text/html; charset=utf-8")


def negotiate(accept: str | None, allowed: tuple[str, ...]) -> str | None:
    """The first media type of an Accept header that is in ``allowed``, else None."""
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in allowed:
            return media
    return None
