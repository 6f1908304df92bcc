"""What codes, tokens, device grants and consents stand for: the records the simulator's state
keeps (and its state file stores)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    scope: str
    challenge: str | None
    expires_at: float


@dataclass(slots=True)
class Grant:
    """What an access token stands for."""

    user_id: str
    client_id: str
    scope: str
    expires_at: float


@dataclass(slots=True)
class RefreshGrant:
    """What a refresh token stands for, the access token minted with it, and when it was
    first used (it keeps working ``refresh_grace_seconds`` after that)."""

    user_id: str
    client_id: str
    scope: str
    expires_at: float
    access: str
    used_at: float | None = None


@dataclass(slots=True)
class DeviceGrant:
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    user_id: str | None = None
    denied: bool = False
    last_poll: float | None = None


@dataclass(slots=True)
class Consent:
    """An account's approval of the application (what Allegro lists under "Linked Apps")."""

    scope: str
    granted_at: float


@dataclass(frozen=True, slots=True)
class DevicePoll:
    """The outcome of polling a device code: a grant to mint tokens for, or an OAuth error."""

    grant: DeviceGrant | None = None
    error: str = ""
    description: str = ""
