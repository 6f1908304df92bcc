"""The signed token in a consent URL: round trip, forgery, tampering, damage."""

from __future__ import annotations

import pytest

from services.link_signing import (
    ForgedLinkToken,
    InvalidLinkToken,
    MalformedLinkToken,
    link_url,
    sign_link_id,
    verify_link_token,
)
from testing.simulated_consent import token_from_url

SECRET = "s" * 43
LINK_ID = "Zm9vYmFyYmF6cXV4MTIzNA"


def test_a_signed_link_id_verifies_back_to_the_id() -> None:
    assert verify_link_token(SECRET, sign_link_id(SECRET, LINK_ID)) == LINK_ID


def test_the_url_is_public_url_slash_authorize_slash_token() -> None:
    url = link_url("https://ads.agency.example/", SECRET, LINK_ID)
    assert url.startswith("https://ads.agency.example/authorize/")
    assert verify_link_token(SECRET, token_from_url(url)) == LINK_ID


def test_a_token_signed_with_another_secret_is_forged() -> None:
    with pytest.raises(ForgedLinkToken):
        verify_link_token(SECRET, sign_link_id("another-secret", LINK_ID))


def test_a_tampered_payload_is_forged() -> None:
    payload, signature = sign_link_id(SECRET, LINK_ID).split(".")
    other_payload = sign_link_id(SECRET, "another-link-id").split(".")[0]
    with pytest.raises(ForgedLinkToken):
        verify_link_token(SECRET, f"{other_payload}.{signature}")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    with pytest.raises(ForgedLinkToken):
        verify_link_token(SECRET, f"{payload}.{flipped}")


@pytest.mark.parametrize("token", ["", "nodot", "a.b.c", "a b.c", "%2e.x", "x" * 500 + ".y"])
def test_damaged_tokens_are_malformed_not_forged(token: str) -> None:
    with pytest.raises(MalformedLinkToken):
        verify_link_token(SECRET, token)


def test_both_refusals_share_one_base_class() -> None:
    assert issubclass(ForgedLinkToken, InvalidLinkToken)
    assert issubclass(MalformedLinkToken, InvalidLinkToken)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="ALLEGRO_ADS_SIGNING_KEY"):
        sign_link_id("", LINK_ID)
