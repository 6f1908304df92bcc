"""The WSGI application: routing, security headers and error pages (no Flask).

``create_app()`` wires the consent flow (public) and, under ``/portal``, the staff portal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from werkzeug.exceptions import BadHost, HTTPException, NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from allegro_resource.oauth import OAuthClient
from authorize_app.agency_callback import PORTAL_MOUNT, forward_agency_callback
from authorize_app.consent import ConsentFlow
from authorize_app.portal.app import PortalApp
from authorize_app.web import SecurityHeaders, bad_host, origin_of, render, security_headers
from services.clients import oauth_client
from services.control import Control, open_control
from settings.config import Settings

log = logging.getLogger("authorize_app")

MAX_BODY_BYTES = 64 * 1024  # forms here are tiny; anything bigger is refused before parsing

StartResponse = Callable[..., Any]

ROUTES = Map(
    [
        Rule("/authorize/<token>", endpoint="consent_show", methods=["GET"]),
        Rule("/authorize/<token>", endpoint="consent_start", methods=["POST"]),
        Rule("/oauth/callback", endpoint="consent_callback", methods=["GET"]),
        Rule("/healthz", endpoint="health", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,  # its redirect named the Host header's server: //x is a 404 instead
)


class AuthorizeApp:
    """The whole web application as one WSGI callable."""

    def __init__(self, control: Control, oauth: OAuthClient | None = None) -> None:
        self.control = control
        self.consent = ConsentFlow(control, oauth or oauth_client(control.settings))
        self.form_targets = (origin_of(control.settings.auth_url),)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        response = self.dispatch(request)
        return security_headers(response, form_targets=self.form_targets)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        try:
            adapter = ROUTES.bind_to_environ(request.environ)
        except BadHost:
            return bad_host()
        try:
            # Read the body now (at most MAX_BODY_BYTES, else 413): handlers that never look at
            # it would otherwise accept any size.
            request.get_data(cache=True)
            endpoint, values = adapter.match()
            return self.handle(endpoint, request, values)
        except NotFound:
            return self.not_found()
        except HTTPException as exc:
            response = exc.get_response()
            return Response(response.get_data(), status=response.status_code, mimetype="text/html")

    def handle(self, endpoint: str, request: Request, values: Mapping[str, Any]) -> Response:
        if endpoint == "consent_show":
            return self.consent.show(request, values["token"])
        if endpoint == "consent_start":
            return self.consent.start(request, values["token"])
        if endpoint == "consent_callback":
            forwarded = forward_agency_callback(self.control, request)
            return forwarded or self.consent.callback(request)
        if endpoint == "health":
            return Response("ok\n", mimetype="text/plain")
        return self.not_found()

    def not_found(self) -> Response:
        return render(
            "consent_problem.html",
            status=404,
            agency=self.control.settings.agency_name,
            title="Page not found",
            message="There is nothing at this address.",
            next_step="If you were sent a link by the agency, copy the whole link again.",
        )


def create_app(settings: Settings | None = None) -> Callable[..., Iterable[bytes]]:
    """The WSGI app with static files, over the configured control store."""
    control = open_control(settings)
    app = AuthorizeApp(control)
    static = Path(__file__).parent / "static"
    routed = DispatcherMiddleware(app, {PORTAL_MOUNT: PortalApp(control)})
    # Outermost, so static files get the security headers too.
    return SecurityHeaders(
        SharedDataMiddleware(routed, {"/static": str(static)}, cache=False),
        form_targets=app.form_targets,
    )
