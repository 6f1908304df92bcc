"""How a customer's connection to Allegro is shown: a status key, a label, and whether
staff should send a new authorisation link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allegro_resource.token_status import NEEDS_CONSENT_WORST_FIRST, TokenStatus
from control_store.token_store import TokenInfo, token_status

NOT_CONNECTED = "not_connected"
LABELS = {
    TokenStatus.CONNECTED.value: "Connected",
    TokenStatus.EXPIRING.value: "Expiring",
    TokenStatus.EXPIRED.value: "Expired",
    TokenStatus.NEEDS_REAUTH.value: "Needs re-auth",
    TokenStatus.REVOKED.value: "Revoked",
    NOT_CONNECTED: "Not connected",
}
NEEDS_LINK = {*(status.value for status in NEEDS_CONSENT_WORST_FIRST), NOT_CONNECTED}
# Worst first: what needs someone's attention tops the board; never connected comes last of those.
ORDER = [
    *(status.value for status in NEEDS_CONSENT_WORST_FIRST),
    NOT_CONNECTED,
    TokenStatus.CONNECTED.value,
]


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
