"""werkzeug's threaded server with HTTP/1.1 persistent connections, as Allegro's API keeps them.

werkzeug's own request handler sends ``Connection: close`` with every answer, and after each
answer it drains the socket (a blocking read of up to 10 MB whenever anything arrives within
10 ms): on a kept-alive connection that read would swallow the client's next request and then
wait for the client to hang up. So ``KeepAliveHandler`` replaces its ``run_wsgi``:

- The request body is read in full before the app runs, whatever the app reads of it, so the
  next request line is found where it starts. A body whose end cannot be known (no valid
  length) or that is too large to hold is left to the app and the connection is closed after
  the answer.
- The answer is buffered and sent with its exact ``Content-Length`` (the simulator's answers are
  built in memory anyway): the client always knows where it ends. A fault's cut-off body is a
  complete answer whose JSON stops half-way, exactly as before.
- Sending stays werkzeug's: one blocking ``sendall`` in the connection's own thread.

Why not waitress (tried first; it keeps connections alive as it is): on
``bench.client_fetch --simulator process`` (600 answers of ~1.4 MB) the simulator spent 10-25 %
more CPU under waitress than under werkzeug with a connection per request, and 5-7 % less with
this handler (docs/benchmarks.md, "Simulator keep-alive"): waitress sends a large answer
piecewise from its event loop, and its fixed worker pool would queue requests behind a latency
fault's sleep. The simulator's CPU is what bounds that benchmark's wall time on two cores.

``KeepAliveServer`` remembers the open connections so that ``server_close()`` can end them:
a client's pooled connection must not reach a simulator that was stopped.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Iterable
from traceback import format_exc
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

IDLE_TIMEOUT_SECONDS = 120
"""A connection without a request for this long is closed (socket timeout)."""

MAX_HELD_BODY_BYTES = 16 * 1024 * 1024
"""Larger request bodies are not read ahead: the connection closes after their answer."""

_NO_BODY_STATUSES = frozenset({204, 304})


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler, answering request after request on one connection."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    # Headers and body go out in two writes: without this, the body's last segment could wait
    # for the client's delayed ACK of the headers (Nagle), 40 ms per answer.
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        """Answer one request; the connection stays open unless the client asked to close it,
        the request's body could not be read ahead, or the app said ``Connection: close``."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        if not _read_body_ahead(environ, self.rfile):
            self.close_connection = True  # the next request line cannot be found
        try:
            status, headers, body = _call(self.server.app, environ)
        except Exception:
            if self.server.passthrough_errors:
                raise
            self.server.log("error", f"Error on request {self.requestline!r}:\n{format_exc()}")
            status, headers, body = _call(InternalServerError(), environ)
        self._send(environ, status, headers, body)

    def _send(
        self, environ: WSGIEnvironment, status: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        bodiless = environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in _NO_BODY_STATUSES
        self.send_response(code, reason)
        for key, value in headers:
            name = key.lower()
            if name == "connection":
                if "close" in value.lower():
                    self.close_connection = True
            elif name == "transfer-encoding" or (name == "content-length" and not bodiless):
                continue  # the buffered body's own length replaces them
            else:
                self.send_header(key, value)
        if not bodiless:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":  # an HTTP/1.0 client asked for keep-alive
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if not bodiless and body:
            self.wfile.write(body)

    def log_error(self, format: str, *args: Any) -> None:
        # http.server reports an idle connection reaching the timeout as an error: it is routine.
        if format.startswith("Request timed out"):
            return
        super().log_error(format, *args)


def _read_body_ahead(environ: WSGIEnvironment, rfile: io.BufferedIOBase) -> bool:
    """Replace ``wsgi.input`` by the whole request body read now; False when its end is unknown
    (then the app reads the socket as werkzeug would let it, and the connection must close)."""
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's DechunkedInput finds the end
        try:
            body = environ["wsgi.input"].read()
        except OSError:
            return False
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated")
    elif "CONTENT_LENGTH" in environ:
        declared = environ["CONTENT_LENGTH"]
        if not declared.isdigit() or int(declared) > MAX_HELD_BODY_BYTES:
            return False
        body = rfile.read(int(declared))
        if len(body) < int(declared):  # the client hung up mid-body
            return False
    else:  # no body (werkzeug reads none without a length either)
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return True


def _call(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[str, list[tuple[str, str]], bytes]:
    """The app's (status, headers, whole body) for ``environ``."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [(status, headers)]  # nothing is sent yet: an error page may replace it
        return written.append

    answer: Iterable[bytes] = app(environ, start_response)
    try:
        written.extend(answer)
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    if not started:
        raise RuntimeError("the application returned without calling start_response")
    status, headers = started[0]
    return status, headers, b"".join(written)


class KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server (a thread per connection) that closes the connections still
    open when it is closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before werkzeug's __init__, which calls server_close() when it fails.
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Stop listening and hang up on every open connection (a thread waiting for its
        next request sees the end; one inside a request finds its client gone)."""
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for connection in still_open:
            with contextlib.suppress(OSError):  # closed meanwhile by its own thread
                connection.shutdown(socket.SHUT_RDWR)
