"""Delivering an alert's text: one e-mail to its recipients and one POST to the webhook.

Each channel is tried on its own; the result says which reached someone and, for the others,
what went wrong (never the webhook's URL, which is a credential).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import requests

from services.alert_messages import AlertText
from services.mail import Mailer, MailError, OutgoingMail
from settings import defaults


@dataclass(frozen=True, slots=True)
class AlertChannels:
    """Where alerts go: the mail server and staff addresses, and the optional webhook."""

    mailer: Mailer | None
    staff: tuple[str, ...]
    webhook_url: str = ""
    agency_name: str = "the agency"
    # Values no message may contain (passwords, keys); ``scrub`` removes them.
    secrets: tuple[str, ...] = ()
    webhook_timeout_seconds: float = defaults.WEBHOOK_TIMEOUT_SECONDS

    @property
    def configured(self) -> bool:
        """Some alert can reach someone: a mail server, or a webhook."""
        return self.mailer is not None or bool(self.webhook_url)


@dataclass(frozen=True, slots=True)
class Delivered:
    emailed: tuple[str, ...] = ()  # the addresses the server accepted
    posted: bool = False  # the webhook answered 2xx
    errors: tuple[str, ...] = ()

    @property
    def reached_someone(self) -> bool:
        return bool(self.emailed) or self.posted

    @property
    def attempted(self) -> bool:
        return self.reached_someone or bool(self.errors)


def deliver(
    channels: AlertChannels,
    text: AlertText,
    recipients: tuple[str, ...],
    also: Sequence[tuple[str, AlertText]] = (),
) -> Delivered:
    """Send ``text`` by e-mail to ``recipients`` and to the webhook, and each of ``also`` (an
    address and its own version, e.g. a portfolio's) by e-mail; a failing channel or address
    does not stop the others."""
    mailings = [(recipients, text)] if recipients else []
    mailings += [((address,), own) for address, own in also]
    emailed: list[str] = []
    errors: list[str] = []
    if channels.mailer is not None:
        emailed, errors = _email_each(channels.mailer, mailings)
    posted = False
    if channels.webhook_url:
        error = post_webhook(channels.webhook_url, text.webhook_text, channels)
        if error:
            errors.append(f"webhook: {error}")
        else:
            posted = True
    return Delivered(tuple(emailed), posted, tuple(errors))


def _email_each(
    mailer: Mailer, mailings: Sequence[tuple[tuple[str, ...], AlertText]]
) -> tuple[list[str], list[str]]:
    """Send each (recipients, text); the addresses reached and the errors met."""
    emailed: list[str] = []
    errors: list[str] = []
    for to, version in mailings:
        try:
            mailer.send(OutgoingMail(to=to, subject=version.subject, text=version.body))
        except MailError as exc:
            errors.append(f"e-mail: {exc}")
        else:
            emailed += to
    return emailed, errors


def post_webhook(url: str, text: str, channels: AlertChannels) -> str | None:
    """POST a Slack-compatible ``{"text": …}``; the problem (without the URL), or None."""
    try:
        response = requests.post(url, json={"text": text}, timeout=channels.webhook_timeout_seconds)
    except requests.RequestException as exc:
        return (
            f"the alert webhook could not be reached ({type(exc).__name__}); check "
            "ALLEGRO_ADS_ALERT_WEBHOOK_URL"
        )
    if not 200 <= response.status_code < 300:
        return (
            f"the alert webhook answered HTTP {response.status_code}; check "
            "ALLEGRO_ADS_ALERT_WEBHOOK_URL (a revoked hook answers 403 or 404)"
        )
    return None
