"""How a customer's connection to Allegro is shown: a status key, a label, and whether
staff should send a new authorisation link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from control_store.token_store import TokenInfo, TokenStatus, token_status

NOT_CONNECTED = "not_connected"
LABELS = {
    TokenStatus.CONNECTED.value: "Connected",
    TokenStatus.EXPIRING.value: "Expiring",
    TokenStatus.EXPIRED.value: "Expired",
    TokenStatus.NEEDS_REAUTH.value: "Needs re-auth",
    TokenStatus.REVOKED.value: "Revoked",
    NOT_CONNECTED: "Not connected",
}
NEEDS_LINK = {
    TokenStatus.EXPIRING.value,
    TokenStatus.EXPIRED.value,
    TokenStatus.NEEDS_REAUTH.value,
    TokenStatus.REVOKED.value,
    NOT_CONNECTED,
}


@dataclass(frozen=True, slots=True)
class ConnectionState:
    key: str
    label: str
    needs_link: bool
    info: TokenInfo | None


def connection_state(
    info: TokenInfo | None, now: datetime, expiring_days: float
) -> ConnectionState:
    """The displayed state of one connection (``info`` None: never connected)."""
    key = NOT_CONNECTED if info is None else token_status(info, now, expiring_days).value
    return ConnectionState(key, LABELS[key], key in NEEDS_LINK, info)
