"""Consent links: issue one for a customer and the URL to send them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from control_store import auth_links, customers
from control_store.auth_links import AuthLink
from services.control import Control
from services.link_signing import link_url

MAX_LINK_TTL = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class IssuedLink:
    link: AuthLink
    url: str


def issue_link(
    control: Control,
    customer: str,
    *,
    ttl: timedelta | None = None,
    created_by: str | None = None,
) -> IssuedLink:
    """A new consent link for the customer (id or name) and the URL to send them."""
    ttl = ttl or timedelta(hours=control.settings.link_ttl_hours)
    if ttl > MAX_LINK_TTL:
        raise ValueError(f"a link may live at most {MAX_LINK_TTL.days} days")
    found = customers.find_customer(control.engine, customer)
    link = auth_links.create_link(control.engine, found.id, ttl=ttl, created_by=created_by)
    return IssuedLink(link, url_for_link(control, link.id))


def url_for_link(control: Control, link_id: str) -> str:
    return link_url(control.settings.public_url, control.settings.signing_secret, link_id)
