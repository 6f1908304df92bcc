"""What an alert says: its e-mail and its webhook payload, when it starts and when it ends.

Plain functions. Every text passes through ``scrub``, which removes the values of the secrets it
is given and anything shaped like a token, so an error message that quoted one (a URL with an
``access_token``, an ``Authorization`` header) reaches nobody.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.alert_rules import Alert, named

REDACTED = "[redacted]"
# A bearer header, a token or secret passed as a parameter, or a JSON field holding one.
_TOKEN_SHAPES = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)\b(access_token|refresh_token|id_token|client_secret|password|code_verifier)"
        r"(\"?\s*[=:]\s*\"?)[^\s\"&,;]+"
    ),
)
MIN_SECRET_CHARS = 4  # shorter "secrets" (an empty password) would redact ordinary text


@dataclass(frozen=True, slots=True)
class AlertText:
    """An alert rendered: the e-mail's subject and body, and the webhook's message."""

    subject: str
    body: str
    webhook_text: str


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any of ``secrets`` and without anything shaped like a token."""
    # A list of keys (ALLEGRO_ADS_TOKEN_KEYS) holds a secret in each of its parts.
    values = {part.strip() for secret in secrets for part in (secret, *secret.split(","))}
    for secret in sorted({v for v in values if len(v) >= MIN_SECRET_CHARS}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _TOKEN_SHAPES[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _TOKEN_SHAPES[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def firing_text(
    alert: Alert,
    agency_name: str,
    secrets: Iterable[str] = (),
    *,
    portfolio_id: str | None = None,
) -> AlertText:
    """The message telling that ``alert`` began: to staff, or (``portfolio_id``) to one
    portfolio's address, which sees only that portfolio's customers."""
    lines = [alert.reason, "", f"What to do: {alert.fix}"]
    names = alert.names(portfolio_id)
    if names:
        lines += ["", f"Customers ({len(names)}): {', '.join(names)}"]
    if alert.action_url:
        lines += ["", f"{alert.action_label or 'Open'}: {alert.action_url}"]
    lines += ["", _footer(agency_name)]
    webhook = f":rotating_light: *{alert.title}*\n{alert.reason}\n*What to do:* {alert.fix}"
    if names:
        webhook += f"\n*Customers ({len(names)}):* {named(names)}"
    if alert.action_url:
        webhook += f"\n<{alert.action_url}|{alert.action_label or 'Open'}>"
    return AlertText(
        subject=scrub(f"[{agency_name}] {alert.title}", secrets),
        body=scrub("\n".join(lines) + "\n", secrets),
        webhook_text=scrub(webhook, secrets),
    )


def resolved_text(
    title: str, since: datetime, resolved_at: datetime, agency_name: str, secrets: Iterable[str]
) -> AlertText:
    """The message telling that the alert titled ``title`` (raised at ``since``) has ended."""
    when = f"{resolved_at:%Y-%m-%d %H:%M} UTC"
    body = (
        f"Resolved at {when}: {title} (raised {since:%Y-%m-%d %H:%M} UTC).\n"
        "Nothing more to do.\n\n" + _footer(agency_name) + "\n"
    )
    return AlertText(
        subject=scrub(f"[{agency_name}] Resolved: {title}", secrets),
        body=scrub(body, secrets),
        webhook_text=scrub(f":white_check_mark: *Resolved:* {title} ({when})", secrets),
    )


def _footer(agency_name: str) -> str:
    return (
        f"-- \nAllegro Ads Manager of {agency_name}. This alert is sent once when it begins "
        "and once when it ends."
    )
