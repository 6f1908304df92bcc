"""A real HTTP receiver on loopback standing in for a Slack-compatible incoming webhook: it keeps
every JSON body POSTed to it and answers like Slack (``200 ok``), or with a chosen failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testing.waiting import wait_until


@dataclass
class WebhookReceiver:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200  # what the next POSTs are answered with
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.posts)

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Every body, once at least ``count`` have arrived."""
        wait_until(lambda: len(self.received()) >= count, f"{count} webhook POSTs")
        return self.received()


@contextmanager
def webhook_receiver(path: str = "/services/T000/B000/hook") -> Iterator[WebhookReceiver]:
    """A receiver on a free loopback port; its ``url`` ends with ``path``."""
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            with receiver._lock:
                receiver.posts.append(
                    {"path": self.path, "content_type": self.headers["Content-Type"], **body}
                )
                status = receiver.status
            payload = b"ok" if status == 200 else b"invalid_token"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
