"""The simulator as one WSGI application: OAuth, REST API and /_sim/ paths on one port."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from simulator.api import ApiEndpoints
from simulator.control import ControlEndpoints
from simulator.oauth import OAuthEndpoints
from simulator.responses import api_error, json_response
from simulator.state import SimulatorConfig, SimulatorState

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)
SIM_PREFIX = "/_sim/"


class SimulatorApp:
    """The WSGI app; ``state`` is open to tests that want to look inside."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState(self.config)
        self.url_map = Map(
            [
                *OAuthEndpoints(self.state).rules(),
                *ApiEndpoints(self.state).rules(),
                *ControlEndpoints(self.state).rules(),
            ],
            strict_slashes=False,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        # Every answer carries a trace id, as Allegro's do, so a failure can be reported.
        response.headers["Trace-Id"] = uuid.uuid4().hex
        if request.path.startswith(SIM_PREFIX):
            response.headers["X-Simulator"] = "true"
        else:  # counters describe traffic to "Allegro", not the tests' own /_sim calls
            self.state.count(f"statuses.{response.status_code}")
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        sim = request.path.startswith(SIM_PREFIX)
        try:
            handler, args = adapter.match()
            response: Response = handler(request, **args)
            return response
        except NotFound:
            if sim:
                return json_response({"error": f"no simulator endpoint {request.path}"}, 404)
            return api_error(404, "NOT_FOUND", f"No resource at {request.path}")
        except MethodNotAllowed as exc:
            allowed = ", ".join(exc.valid_methods or [])
            return api_error(
                405, "METHOD_NOT_ALLOWED", f"{request.method} not allowed; use {allowed}"
            )
        except HTTPException as exc:  # e.g. a malformed request body werkzeug refused
            return api_error(exc.code or 400, "BAD_REQUEST", exc.description or "Bad request")
        except Exception:
            logger.exception("simulator handler failed on %s %s", request.method, request.path)
            return api_error(500, "INTERNAL_SERVER_ERROR", "The simulator failed; see its log")
