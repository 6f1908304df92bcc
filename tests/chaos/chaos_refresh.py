"""Helpers of the interrupted-refresh tests: a token refresh in a child process (the product's
``TokenManager`` over the control store named by ``ALLEGRO_ADS_*``), and a stalled "Allegro"
that accepts a request and never answers, so a refresh can be killed before Allegro sees it."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from allegro_resource.oauth import OAuthClient
from services.clients import token_manager
from services.control import open_control
from settings.config import load_settings

ASKING = "asking"  # sent by the child just before it asks for a token


def _refresh(customer_id: str, auth_url: str, hang_after: bool, report: Connection) -> None:
    """The child's body: one forced refresh (what a 401 triggers); the outcome to ``report``."""
    settings = load_settings()
    oauth = OAuthClient(
        auth_url, settings.client_id, settings.client_secret, settings.redirect_uri, timeout=60
    )
    with open_control(settings) as control:
        manager = token_manager(control, oauth)
        report.send(ASKING)
        try:
            manager.access_token(customer_id, force_refresh=True)
        except Exception as exc:
            report.send(f"{type(exc).__name__}: {exc}")
            return
        report.send("ok")
    if hang_after:  # committed and still running: the kill comes after the commit
        time.sleep(600)


@dataclass
class ChildRefresh:
    """A forced refresh of ``customer_id``'s tokens in a spawned child process."""

    process: Any
    messages: Connection

    @classmethod
    def start(cls, customer_id: str, auth_url: str, *, hang_after: bool = False) -> ChildRefresh:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(
            target=_refresh, args=(customer_id, auth_url, hang_after, theirs), daemon=True
        )
        process.start()
        theirs.close()
        return cls(process, ours)

    def next_message(self, timeout: float = 30.0) -> str:
        """The child's next message (``ASKING``, then "ok" or the error)."""
        if not self.messages.poll(timeout):
            raise TimeoutError(f"the refresh child said nothing for {timeout:.0f} s")
        message: str = self.messages.recv()
        return message

    def kill(self) -> None:
        """SIGKILL: the child gets no chance to roll back, release or clean up anything."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=30)

    def stop(self) -> None:
        if self.process.is_alive():
            self.kill()


class StalledAllegro:
    """A TCP endpoint that reads requests and never answers: a refresh sent here is in flight
    but has not reached Allegro. ``received`` is set once a whole token request has arrived."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.received = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self._server.accept()
        except OSError:  # closed before anyone called
            return
        with connection:
            data = b""
            while b"grant_type=refresh_token" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.received.set()
            while connection.recv(65536):  # hold the connection until the caller goes away
                pass

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes a thread still blocked in accept()
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)
