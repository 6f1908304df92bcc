"""The signed token in a consent URL: ``{public_url}/authorize/{token}``; it names one link row.

The signature (itsdangerous, HMAC, compared in constant time) stops anyone from guessing or
altering link ids; the row (``control_store.auth_links``) makes the link single-use and revocable.
"""

from __future__ import annotations

import re

from itsdangerous import BadData, BadSignature, URLSafeSerializer

SALT = "allegro-ads.consent-link.v1"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")
_MAX_TOKEN_LENGTH = 200


class InvalidLinkToken(Exception):
    """The token in the URL is not one the agency issued."""


class MalformedLinkToken(InvalidLinkToken):
    """The token is not even shaped like a signed link (truncated or mangled URL)."""


class ForgedLinkToken(InvalidLinkToken):
    """The token is well-formed but its signature does not match: forged or tampered with."""


def _serializer(secret: str) -> URLSafeSerializer:
    if not secret:
        raise ValueError("the signing secret is empty; set ALLEGRO_ADS_SIGNING_KEY")
    return URLSafeSerializer(secret, salt=SALT)


def sign_link_id(secret: str, link_id: str) -> str:
    """The URL-safe signed token naming ``link_id``."""
    return str(_serializer(secret).dumps(link_id))


def verify_link_token(secret: str, token: str) -> str:
    """The link id the token names, else ``MalformedLinkToken`` or ``ForgedLinkToken``."""
    if len(token) > _MAX_TOKEN_LENGTH or not _TOKEN_SHAPE.match(token):
        raise MalformedLinkToken("the link is incomplete or damaged; copy the whole URL again")
    try:
        link_id = _serializer(secret).loads(token)  # itsdangerous uses hmac.compare_digest
    except BadSignature:
        raise ForgedLinkToken("the link was not issued by this agency or was altered") from None
    except BadData:
        raise MalformedLinkToken("the link is incomplete or damaged") from None
    if not isinstance(link_id, str) or not link_id:
        raise MalformedLinkToken("the link does not name an authorisation")
    return link_id


def link_url(public_url: str, secret: str, link_id: str) -> str:
    """The URL to send to the customer."""
    return f"{public_url.rstrip('/')}/authorize/{sign_link_id(secret, link_id)}"
