"""Serving the simulator on loopback: in a background thread for tests and the demo
(``start_simulator``), or in the foreground for the CLI (``serve_forever``)."""

from __future__ import annotations

import socket
import threading
from datetime import date
from typing import Any

import requests
from werkzeug.serving import (
    BaseWSGIServer,
    WSGIRequestHandler,
    make_server,
    select_address_family,
)

from allegro_resource.simulator.app import SimulatorApp
from allegro_resource.simulator.state import SimulatorConfig


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: tests make thousands."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def build_server(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
) -> BaseWSGIServer:
    """A multi-threaded werkzeug server listening on (host, port) for a new simulator;
    raises OSError when the address is taken."""
    handler = _QuietHandler if quiet else WSGIRequestHandler
    # Bind ourselves: werkzeug would print and sys.exit(1) on a taken port, and a socket that
    # already listens queues connections before the serving thread runs.
    family = select_address_family(host, port)
    with socket.create_server((host, port), family=family, backlog=128) as listening:
        return make_server(
            host,
            port,
            SimulatorApp(config),
            threaded=True,
            request_handler=handler,
            fd=listening.fileno(),  # werkzeug keeps its own duplicate of the descriptor
        )


class RunningSimulator:
    """A simulator serving in a background thread, with helpers for its /_sim/ endpoints."""

    def __init__(self, server: BaseWSGIServer) -> None:
        self._server = server
        self.app: SimulatorApp = server.app  # type: ignore[assignment]
        self.base_url = f"http://{server.host}:{server.port}"
        self._http = requests.Session()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        self._http.close()

    def _sim(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"{self.base_url}/_sim/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def faults(self, **faults: Any) -> dict[str, Any]:
        """Merge faults (``reset=True`` clears first); returns the faults now in force."""
        result: dict[str, Any] = self._sim("POST", "faults", json=faults)
        return result

    def revoke(self, login: str) -> dict[str, Any]:
        """Withdraw ``login``'s consent: all their tokens die."""
        result: dict[str, Any] = self._sim("POST", "revoke", json={"login": login})
        return result

    def revise(self) -> int:
        """Bump the revision (recent days change); returns the new revision."""
        return int(self._sim("POST", "revise")["revision"])

    def users(self) -> list[dict[str, Any]]:
        """The sellers: login, user_id, ads_client_id, name, email, …"""
        result: list[dict[str, Any]] = self._sim("GET", "users")
        return result

    def agency(self) -> dict[str, Any]:
        """The agency user (login "agency"), whose token lists every seller's ads client."""
        result: dict[str, Any] = self._sim("GET", "agency")
        return result

    def truth(self, client_id: str, start: date, end: date) -> dict[str, Any]:
        """The statistics as served now for [start, end], uncapped and without faults."""
        params = {"from": start.isoformat(), "to": end.isoformat()}
        result: dict[str, Any] = self._sim("GET", f"truth/{client_id}", params=params)
        return result

    def stats(self) -> dict[str, Any]:
        """The counters (requests by kind, refreshes_ok/failed, invalid_grant, token_errors by
        code, responses_429, faults…)."""
        result: dict[str, Any] = self._sim("GET", "stats")
        return result

    def confirm_device(self, user_code: str, login: str) -> None:
        """Confirm a device-flow code as ``login``."""
        self._sim("POST", "device/confirm", json={"user_code": user_code, "login": login})

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (tokens and codes expire without sleeping)."""
        self._sim("POST", "clock", json={"advance_seconds": seconds})


def start_simulator(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a new simulator in a background thread; it accepts connections on return."""
    return RunningSimulator(build_server(config, host, port))
