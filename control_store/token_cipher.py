"""The cipher of the control store's secrets at rest (MultiFernet over ALLEGRO_ADS_TOKEN_KEYS).

Tokens and pending PKCE verifiers are encrypted with the first (newest) key and decrypted with
any of the keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from control_store.database import ControlStoreError

KEYS_VARIABLE = "ALLEGRO_ADS_TOKEN_KEYS"


class TokenKeyError(ControlStoreError):
    """The configured keys cannot decrypt a stored value (or none are configured)."""


class TokenCipher:
    """Encrypts with the first key, decrypts with any; errors name ALLEGRO_ADS_TOKEN_KEYS."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise TokenKeyError(
                f"{KEYS_VARIABLE} is empty; generate a key: allegro-ads keys generate"
            )
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError as exc:
            raise TokenKeyError(
                f"{KEYS_VARIABLE} holds a value that is not a Fernet key; generate one with: "
                "allegro-ads keys generate"
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str, what: str) -> str:
        """Plaintext of ``ciphertext``; ``what`` names the value in the error message."""
        if not ciphertext:
            return ""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken:
            raise TokenKeyError(_undecryptable(what)) from None

    def rotate(self, ciphertext: str, what: str) -> str:
        """The same plaintext encrypted with the newest key."""
        if not ciphertext:
            return ""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise TokenKeyError(_undecryptable(what)) from None


def _undecryptable(what: str) -> str:
    return (
        f"cannot decrypt {what} with the keys in {KEYS_VARIABLE}: the key it was encrypted "
        "with is missing; put that key back in the list (comma-separated, newest first). "
        "Nothing was changed"
    )
