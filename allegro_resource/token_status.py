"""The status of a stored connection (an authorised account's token pair), defined once.

The control store's column and its CHECK, the token manager's refusal to refresh, the portal's
board and the doctor all derive from ``TokenStatus``.
"""

from __future__ import annotations

from enum import StrEnum


class TokenStatus(StrEnum):
    """A connection's status; ``connected``, ``expiring`` and ``expired`` follow the refresh
    token's lifetime, the other two are stored states that stick."""

    CONNECTED = "connected"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    NEEDS_REAUTH = "needs_reauth"
    REVOKED = "revoked"


STICKY_STATUSES = frozenset({TokenStatus.NEEDS_REAUTH, TokenStatus.REVOKED})
"""Stored states only a new consent clears: no refresh is tried, whatever the token's age."""

NEEDS_CONSENT_WORST_FIRST = (
    TokenStatus.NEEDS_REAUTH,
    TokenStatus.REVOKED,
    TokenStatus.EXPIRED,
    TokenStatus.EXPIRING,
)
"""Every status but ``connected``: a new consent is (or soon will be) needed. Most urgent first."""
