"""Serving the simulator on loopback: in a background thread for tests and the demo
(``start_simulator``), or in the foreground for the CLI (``serve_forever``).

Connections are kept alive between requests, as Allegro's API keeps them
(``simulator.keepalive`` says how, and why werkzeug's server rather than waitress)."""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import select_address_family

from simulator.app import SimulatorApp
from simulator.keepalive import KeepAliveHandler, KeepAliveServer
from simulator.remote import SimulatorControl
from simulator.state import SimulatorConfig


class _QuietHandler(KeepAliveHandler):
    """No access log line per request: tests make thousands."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def build_server(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
) -> KeepAliveServer:
    """A multi-threaded werkzeug server listening on (host, port) for a new simulator;
    raises OSError when the address is taken, StateFileError when the configured state file
    cannot be used."""
    app = SimulatorApp(config)  # before binding: a bad state file must not hold the port
    handler = _QuietHandler if quiet else KeepAliveHandler
    # Bind ourselves: werkzeug would print and sys.exit(1) on a taken port, and a socket that
    # already listens queues connections before the serving thread runs.
    family = select_address_family(host, port)
    with socket.create_server((host, port), family=family, backlog=128) as listening:
        # werkzeug keeps its own duplicate of the descriptor.
        return KeepAliveServer(host, port, app, handler, fd=listening.fileno())


class RunningSimulator(SimulatorControl):
    """A simulator serving in a background thread, with helpers for its /_sim/ endpoints."""

    def __init__(self, server: KeepAliveServer) -> None:
        super().__init__(f"http://{server.host}:{server.port}")
        self._server = server
        self.app: SimulatorApp = server.app  # type: ignore[assignment]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the connections clients keep open, and free the port."""
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        self.close()


def start_simulator(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a new simulator in a background thread; it accepts connections on return."""
    return RunningSimulator(build_server(config, host, port))
