"""Sending e-mail over SMTP (the standard library's ``smtplib``): alerts, consent links, reports.

``mailer_from(settings)`` is ``None`` when no mail server is configured: callers then send
nothing. Every failure is a ``MailError`` subclass whose message names the setting to fix; none
carries the password.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from settings import defaults
from settings.config import ENV_PREFIX, Settings


class MailError(Exception):
    """Mail could not be sent; the message says what to fix."""


class MailNotConfigured(MailError):
    """No mail server is set, so nothing can be sent."""


class MailConnectionFailed(MailError):
    """The mail server could not be reached (refused, unknown host, timed out)."""


class MailSecurityFailed(MailError):
    """STARTTLS or TLS failed (not offered, or the certificate was refused)."""


class MailAuthFailed(MailError):
    """The server refused the user name and password."""


class MailRejected(MailError):
    """The server refused the sender, the recipients or the message."""


@dataclass(frozen=True, slots=True)
class MailConfig:
    """Where and how to send; built from the settings by ``mailer_from``."""

    host: str
    port: int
    security: defaults.SmtpSecurity
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)
    timeout_seconds: float = defaults.SMTP_TIMEOUT_SECONDS
    # None: the system's trusted certificates. Tests pass a context trusting their own CA.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"  # "text/csv" for a report's campaigns


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One message: a plain-text body, optionally an HTML alternative and attachments."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None

    def __post_init__(self) -> None:
        if not self.to:
            raise ValueError("a message needs at least one recipient")
        if any("\n" in part or "\r" in part for part in (self.subject, *self.to)):
            raise ValueError("a subject or recipient cannot contain a line break")


def mailer_from(settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> Mailer | None:
    """The mailer the settings describe, or ``None`` when no mail server is set."""
    if not settings.mail_enabled:
        return None
    return Mailer(
        MailConfig(
            host=settings.smtp_host,
            port=settings.resolved_smtp_port,
            security=settings.smtp_security,
            sender=settings.mail_from,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value(),
            tls_context=tls_context,
        )
    )


def require_mailer(settings: Settings) -> Mailer:
    """The configured mailer; ``MailNotConfigured`` saying which settings to set otherwise."""
    mailer = mailer_from(settings)
    if mailer is None:
        raise MailNotConfigured(
            f"no mail server is set: set {ENV_PREFIX}SMTP_HOST and {ENV_PREFIX}MAIL_FROM "
            "(see docs/deployment.md, Mail)"
        )
    return mailer


class Mailer:
    """Sends messages through one SMTP server, one connection per call."""

    def __init__(self, config: MailConfig) -> None:
        self.config = config

    @property
    def sender(self) -> str:
        return self.config.sender

    def send(self, mail: OutgoingMail) -> None:
        """Deliver ``mail`` to the server; a ``MailError`` says what went wrong."""
        message = compose(mail, self.config.sender)
        with self._session() as smtp:
            try:
                refused = smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                raise MailRejected(
                    f"the mail server refused every recipient ({', '.join(exc.recipients)}); "
                    "check the addresses"
                ) from None
            except smtplib.SMTPSenderRefused as exc:
                raise MailRejected(
                    f"the mail server refused the sender {self.config.sender} "
                    f"({exc.smtp_code}); set {ENV_PREFIX}MAIL_FROM to an address it accepts"
                ) from None
            except smtplib.SMTPDataError as exc:
                raise MailRejected(
                    f"the mail server refused the message ({exc.smtp_code}: "
                    f"{_text(exc.smtp_error)})"
                ) from None
            except (smtplib.SMTPException, OSError) as exc:
                raise MailConnectionFailed(
                    f"the connection to {self._where} broke while sending: {type(exc).__name__}"
                ) from None
        if refused:
            raise MailRejected(
                "the mail server refused some recipients ("
                + ", ".join(sorted(refused))
                + "); the others were sent the message"
            )

    def check(self) -> None:
        """Connect, secure and sign in as ``send`` would, sending nothing (for ``doctor``)."""
        with self._session():
            pass

    @property
    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def _session(self) -> _Session:
        return _Session(self.config)


class _Session:
    """An open, secured, signed-in SMTP connection; errors become ``MailError``s."""

    def __init__(self, config: MailConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> smtplib.SMTP:
        config = self.config
        where = f"{config.host}:{config.port}"
        context = config.tls_context or ssl.create_default_context()
        try:
            if config.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=config.timeout_seconds, context=context
                )
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        except ssl.SSLError as exc:
            raise MailSecurityFailed(
                f"TLS with {where} failed ({exc.reason or type(exc).__name__}); check "
                f"{ENV_PREFIX}SMTP_SECURITY (tls is port 465, starttls port 587) and the "
                "server's certificate"
            ) from None
        except ConnectionRefusedError:
            raise MailConnectionFailed(
                f"the mail server {where} refused the connection; check {ENV_PREFIX}SMTP_HOST "
                f"and {ENV_PREFIX}SMTP_PORT, and that the server is running"
            ) from None
        except socket.gaierror:
            raise MailConnectionFailed(
                f"the mail server's name {config.host!r} does not resolve; check "
                f"{ENV_PREFIX}SMTP_HOST"
            ) from None
        except TimeoutError:
            raise MailConnectionFailed(
                f"the mail server {where} did not answer within {config.timeout_seconds:g} s; "
                f"check {ENV_PREFIX}SMTP_HOST, {ENV_PREFIX}SMTP_PORT and any firewall"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailConnectionFailed(
                f"could not talk to the mail server {where} ({type(exc).__name__}: {exc}); "
                f"check {ENV_PREFIX}SMTP_HOST and {ENV_PREFIX}SMTP_PORT"
            ) from None
        self._smtp = smtp
        try:
            self._secure_and_sign_in(smtp, context, where)
        except BaseException:
            _close(smtp)
            raise
        return smtp

    def __exit__(self, *_exc: object) -> None:
        if self._smtp is not None:
            _close(self._smtp)

    def _secure_and_sign_in(self, smtp: smtplib.SMTP, context: ssl.SSLContext, where: str) -> None:
        config = self.config
        try:
            smtp.ehlo()
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailSecurityFailed(
                        f"the mail server {where} does not offer STARTTLS; set "
                        f"{ENV_PREFIX}SMTP_SECURITY=tls (port 465) or, only on a trusted "
                        "network, none"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.user:
                smtp.login(config.user, config.password)
        except MailError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise MailAuthFailed(
                f"the mail server {where} refused the sign-in of {config.user!r} "
                f"({exc.smtp_code}); check {ENV_PREFIX}SMTP_USER and {ENV_PREFIX}SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise MailAuthFailed(
                f"the mail server {where} offers no sign-in on this connection; set "
                f"{ENV_PREFIX}SMTP_SECURITY=starttls or tls, or leave {ENV_PREFIX}SMTP_USER "
                "empty"
            ) from None
        except ssl.SSLError as exc:
            raise MailSecurityFailed(
                f"STARTTLS with {where} failed ({exc.reason or type(exc).__name__}); check "
                "the server's certificate"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailConnectionFailed(
                f"the mail server {where} broke off ({type(exc).__name__}); check "
                f"{ENV_PREFIX}SMTP_SECURITY and {ENV_PREFIX}SMTP_PORT"
            ) from None


def compose(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The MIME message for ``mail`` from ``sender``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a server already gone is no error of the message's."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def recipients(*groups: Sequence[str]) -> tuple[str, ...]:
    """The addresses of every group, each once (case-insensitively), in order."""
    seen: set[str] = set()
    result: list[str] = []
    for group in groups:
        for address in group:
            key = address.strip().lower()
            if key and key not in seen:
                seen.add(key)
                result.append(address.strip())
    return tuple(result)
