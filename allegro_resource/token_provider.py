"""The interface the Ads client uses to get access tokens.

The client never stores tokens: it asks a provider. The onboarding code's
token manager (backed by the control store) is the production provider.
"""

from __future__ import annotations

from typing import Protocol


class TokenProvider(Protocol):
    """Hands out a valid access token for a customer."""

    def access_token(self, customer_id: str, *, force_refresh: bool = False) -> str:
        """Return a usable access token; with ``force_refresh`` obtain a new one first.

        Raises ``NeedsReauthorization`` when the customer's consent is gone.
        """
        ...
