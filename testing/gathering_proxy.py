"""A loopback proxy in front of Allegro that passes GETs on only once enough are in flight.

A test of "these requests run concurrently" that times them fails on a loaded machine. This
proxy shows it as an event instead: each GET waits until ``expected`` GETs are in flight at
once (``gathered``), then all go on to ``upstream``. A client that sends one after another
never gathers them: each request is held for ``HELD_AT_MOST`` and then passed on, and
``most_in_flight`` says how many were ever in flight together.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

# Headers that describe one hop (or that ``requests`` sets for the body it sends itself).
_HOP_HEADERS = frozenset(
    {"connection", "content-length", "host", "keep-alive", "transfer-encoding", "accept-encoding"}
)
UPSTREAM_TIMEOUT = 60.0
HELD_AT_MOST = 30.0  # a failure guard: a sequential client ends the test, it does not hang


class GatheringProxy:
    """A loopback HTTP endpoint; see the module docstring."""

    def __init__(self, upstream: str, expected: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.expected = expected
        self.gathered = threading.Event()
        self.most_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.gathered.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
            if self._in_flight >= self.expected:
                self.gathered.set()
        try:
            self.gathered.wait(HELD_AT_MOST)
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
            answer = requests.get(
                self.upstream + request.path, headers=headers, timeout=UPSTREAM_TIMEOUT
            )
        finally:
            with self._lock:
                self._in_flight -= 1
        with contextlib.suppress(OSError):  # the caller may have given up meanwhile
            request.send_response(answer.status_code)
            for name in ("Content-Type", "Trace-Id", "Retry-After"):
                if name in answer.headers:
                    request.send_header(name, answer.headers[name])
            request.send_header("Content-Length", str(len(answer.content)))
            request.end_headers()
            request.wfile.write(answer.content)


def _handler_for(proxy: GatheringProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's pooled connections expect

        def do_GET(self) -> None:
            proxy._answer(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output, not a request log

    return Handler
