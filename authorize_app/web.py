"""The small web layer shared by the consent flow and the portal: templates and safe responses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from werkzeug.wrappers import Response

WSGIApp = Callable[..., Iterable[bytes]]
StartResponse = Callable[..., Any]

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


def security_header_items(form_targets: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Headers every response carries: no framing, no sniffing, no referrer, no caching."""
    # The referrer would leak the signed link in the path; pages hold per-customer data.
    form_action = " ".join(("'self'", *form_targets))
    return [
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; "
            "object-src 'none'",
        ),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]


def security_headers(response: Response, *, form_targets: tuple[str, ...] = ()) -> Response:
    """``response`` with the security headers set."""
    for name, value in security_header_items(form_targets):
        response.headers[name] = value
    return response


class SecurityHeaders:
    """WSGI middleware: the security headers on every response, whichever app made it
    (static files included), replacing any the app set."""

    def __init__(self, app: WSGIApp, *, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        self.items = security_header_items(form_targets)
        self.names = {name.lower() for name, _ in self.items}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(name, value) for name, value in headers if name.lower() not in self.names]
            return start_response(status, kept + self.items, exc_info)

        return self.app(environ, start)


def render(template: str, status: int = 200, **context: Any) -> Response:
    """An HTML page from a template; every value is escaped."""
    html = TEMPLATES.get_template(template).render(**context)
    return Response(html, status=status, mimetype="text/html")


def render_fragment(template: str, **context: Any) -> Markup:
    """A piece of a page from a template, escaped like a page, to be placed in one unescaped."""
    return Markup(TEMPLATES.get_template(template).render(**context))  # noqa: S704 - autoescaped


def bad_host() -> Response:
    """400 for a Host header no server can have (e.g. a label over 63 characters): werkzeug
    cannot route it, and it used to escape as a 500."""
    return Response("The Host header is not a valid server name.\n", 400, mimetype="text/plain")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, for CSP allow-lists."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
