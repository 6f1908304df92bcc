"""The interface the API client uses to get access tokens.

The client never stores tokens: it asks a provider, naming the account (an agency account's id
or a customer's). The token manager (backed by the control store) is the production provider.
"""

from __future__ import annotations

from typing import Protocol


class TokenProvider(Protocol):
    """Hands out a valid access token for an account."""

    def access_token(
        self, account_id: str, /, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> str:
        """Return a usable access token.

        ``force_refresh`` after Allegro rejected ``rejected_token`` (401 ``invalid_token``):
        re-read the held pair and refresh only if it still holds that token (another thread or
        process may have replaced it already; a second refresh would waste a rotation). Without
        ``rejected_token`` a forced refresh always refreshes.

        Raises ``NeedsReauthorization`` when the account's consent is gone.
        """
        ...
