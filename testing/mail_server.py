"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts, optionally
asking for a user name and password, and speaking STARTTLS or TLS with a certificate made for
the occasion: what the mail, alert and report tests send to."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cache
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from testing.waiting import wait_until


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    encrypted: bool = False  # it came over TLS (STARTTLS or implicit)

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
    # Trusts the server's certificate (None for a plain server): what a client passes.
    client_tls: ssl.SSLContext | None = None
    _received: list[ReceivedMail] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def product_settings(self, mail_from: str) -> dict[str, str]:
        """The environment that has the product send through this (plain) server as
        ``mail_from``."""
        return {
            "ALLEGRO_ADS_SMTP_HOST": self.host,
            "ALLEGRO_ADS_SMTP_PORT": str(self.port),
            "ALLEGRO_ADS_SMTP_SECURITY": "none",
            "ALLEGRO_ADS_MAIL_FROM": mail_from,
        }

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

    async def handle_DATA(self, server: Any, _session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.server.keep(
            ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), message, encrypted)
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback port nobody listens on (the server binds it right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@cache
def _certificate() -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made once per process."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "allegro-ads test mail server")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="aam-mail-tls-"))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(the server's context, a client context trusting exactly its certificate)."""
    cert_path, key_path = _certificate()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    return server, ssl.create_default_context(cafile=str(cert_path))


@contextmanager
def mail_server(
    *,
    user: str | None = None,
    password: str | None = None,
    security: Literal["none", "starttls", "tls"] = "none",
) -> Iterator[MailServer]:
    """An SMTP server on a free loopback port; with ``user`` it requires that sign-in; with
    ``starttls`` it requires STARTTLS before anything else, with ``tls`` it speaks TLS from the
    first byte (``client_tls`` trusts its certificate)."""
    server = MailServer("127.0.0.1", free_port())
    options: dict[str, Any] = {}
    if security != "none":
        server_tls, server.client_tls = _tls_contexts()
        if security == "starttls":
            options = {"tls_context": server_tls, "require_starttls": True}
        else:
            options = {"ssl_context": server_tls}
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

        # Sign-in over plain SMTP is allowed here, for the loopback tests that speak it.
        options |= {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
    controller = Controller(_Keeper(server), hostname=server.host, port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
