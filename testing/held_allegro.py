"""An OAuth endpoint in front of Allegro whose answers the test holds back.

A refresh holds the customer's refresh lock across its call to Allegro, so a test that needs a
refresh "in flight" (the lock really held) points the refresh at ``HeldAllegro`` and waits for
its events instead of guessing how long a latency fault lasts on a loaded machine:

- ``received``: a whole token request has arrived (the refresh is under its lock);
- ``answered``: ``upstream`` (the simulator) has answered it: Allegro has rotated the pair;
- the answer reaches the caller only after ``release()``; without ``upstream`` no request is
  passed on and no answer ever comes (Allegro never saw the refresh).

``close()`` drops whatever is still held without answering it.
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
HELD_AT_MOST = 300.0  # a failure guard: a test that forgets release() ends, it does not hang


class HeldAllegro:
    """A loopback HTTP endpoint; see the module docstring for its events."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self.received = threading.Event()
        self.answered = threading.Event()
        self._released = threading.Event()
        self._closing = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Pass the held answers on to their callers (and every later one straight away)."""
        self._released.set()

    def close(self) -> None:
        """Stop serving; a request still held is dropped unanswered."""
        self._closing = True
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        """One token request: passed on (with ``upstream``), its answer held until release."""
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        self.received.set()
        answer = None
        if self.upstream is not None:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
            answer = requests.request(
                request.command,
                self.upstream + request.path,
                headers=headers,
                data=body,
                timeout=UPSTREAM_TIMEOUT,
            )
            self.answered.set()
        self._released.wait(HELD_AT_MOST)
        request.close_connection = True
        if answer is None or self._closing:
            return  # dropped: the caller sees the connection close without an answer
        with contextlib.suppress(OSError):  # the caller may have been killed meanwhile
            request.send_response(answer.status_code)
            request.send_header("Content-Type", answer.headers.get("Content-Type", ""))
            request.send_header("Content-Length", str(len(answer.content)))
            request.send_header("Connection", "close")
            request.end_headers()
            request.wfile.write(answer.content)


def _handler_for(held: HeldAllegro) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the token endpoint takes POSTs only
            held._answer(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output, not a request log

    return Handler
