"""The small web layer shared by the consent flow and the portal: templates and safe responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


def security_headers(response: Response, *, form_targets: tuple[str, ...] = ()) -> Response:
    """Headers every response carries: no framing, no sniffing, no referrer, no caching."""
    # The referrer would leak the signed link in the path; pages hold per-customer data.
    form_action = " ".join(("'self'", *form_targets))
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    return response


def render(template: str, status: int = 200, **context: Any) -> Response:
    """An HTML page from a template; every value is escaped."""
    html = TEMPLATES.get_template(template).render(**context)
    return Response(html, status=status, mimetype="text/html")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, for CSP allow-lists."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
