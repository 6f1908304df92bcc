"""Serving the web app with waitress (a production WSGI server), in the foreground or a thread."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

WSGIApp = Callable[..., Iterable[bytes]]


@dataclass
class RunningServer:
    """A waitress server running in a background thread."""

    url: str
    _server: Any
    _thread: threading.Thread

    def stop(self) -> None:
        """Stop listening, close open keep-alive connections, end the worker threads."""
        server = self._server
        # Closed from the server's own loop (thread-safe): with its map empty the loop ends at
        # once. ``server.close()`` alone left keep-alive connections served and the loop running.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:  # the wake-up pipe is unusable: close from here; the loop sees it in 1 s
            wasyncore.close_all(server._map, ignore_all=True)
        self._thread.join(timeout=5)
        server.task_dispatcher.shutdown()


def freeze_startup_objects() -> None:
    """Leave the objects made so far (modules, compiled templates, settings: ~150,000 in a
    portal process) out of every later garbage collection.

    They live as long as the process, yet each full collection walked them all again, and it
    holds the interpreter lock meanwhile: every request in flight waited for it. Call it once
    the app is built, before serving.
    """
    gc.collect()
    gc.freeze()


def start_in_thread(app: WSGIApp, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` on ``host:port`` (0 = a free port) until ``stop()`` (the objects made
    before are frozen: ``freeze_startup_objects``)."""
    freeze_startup_objects()
    server = create_server(app, host=host, port=port, threads=8, clear_untrusted_proxy_headers=True)
    bound_port = server.socket.getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, name=f"waitress:{bound_port}", daemon=True)
    thread.start()
    return RunningServer(f"http://{host}:{bound_port}", server, thread)
