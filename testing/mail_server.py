"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts, optionally
asking for a user name and password: what the mail, alert and report tests send to."""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from testing.waiting import wait_until


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        """The plain-text body."""
        body = self.message.get_body(preferencelist=("plain",))
        return "" if body is None else str(body.get_content())  # type: ignore[attr-defined]

    @property
    def raw(self) -> str:
        """Everything sent (headers, every part), for "no secret anywhere" checks."""
        return self.message.as_string()


@dataclass
class MailServer:
    host: str
    port: int
    _received: list[ReceivedMail] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int) -> list[ReceivedMail]:
        """Every message, once at least ``count`` have arrived."""
        wait_until(lambda: len(self.received()) >= count, f"{count} e-mails")
        return self.received()

    def keep(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._received.append(mail)


class _Keeper:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.server.keep(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback port nobody listens on (the server binds it right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mail_server(*, user: str | None = None, password: str | None = None) -> Iterator[MailServer]:
    """An SMTP server on a free loopback port; with ``user`` it requires that sign-in."""
    server = MailServer("127.0.0.1", free_port())
    options: dict[str, Any] = {}
    if user is not None:

        def authenticate(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == user
                and data.password.decode() == password
            )
            return AuthResult(success=ok, handled=False)  # the server answers 535 itself

        # Loopback tests speak plain SMTP; production servers ask for STARTTLS first.
        options = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
    controller = Controller(_Keeper(server), hostname=server.host, port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
