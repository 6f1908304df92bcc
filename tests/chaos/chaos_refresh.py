"""Helpers of the interrupted-refresh tests: a token refresh in a child process (the product's
``TokenManager`` over the control store named by ``ALLEGRO_ADS_*``) that reports each step the
test waits for. "Allegro" in these tests is ``testing.held_allegro.HeldAllegro``: the test holds
the answer, so the refresh is provably in flight, under its lock, until the test lets it go."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from allegro_resource.oauth import OAuthClient
from services.clients import token_manager
from services.control import open_control
from settings.config import load_settings

ASKING = "asking"  # sent by the child just before it asks for a token
LOCK_BUSY = "lock busy"  # sent once when the SQLite refresh lock is taken and the child waits


class _ReportLockBusy(logging.Handler):
    """Says ``LOCK_BUSY`` once, when filelock reports that the customer's refresh lock (SQLite
    control store) is held by another process and this one is waiting for it."""

    def __init__(self, report: Connection) -> None:
        super().__init__(logging.DEBUG)
        self._report = report
        self._said = False

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not self._said and " not acquired on " in message and ".refresh-locks" in message:
            self._said = True
            self._report.send(LOCK_BUSY)


def _refresh(customer_id: str, auth_url: str, hang_after: bool, report: Connection) -> None:
    """The child's body: one forced refresh (what a 401 triggers); the outcome to ``report``."""
    filelock_log = logging.getLogger("filelock")
    filelock_log.setLevel(logging.DEBUG)
    filelock_log.addHandler(_ReportLockBusy(report))
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
        time.sleep(600)  # not a wait for anything: how long an orphan outlives a killed test


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
        """The child's next message (``ASKING``, ``LOCK_BUSY`` if it waits for the SQLite
        refresh lock, then "ok" or the error); ``timeout`` only guards against a hang."""
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
