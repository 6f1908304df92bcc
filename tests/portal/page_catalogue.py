"""Every page a person sees, in one list: the portal's pages (by route endpoint) and the
consent pages customers see. The accessibility checks and the screenshots walk these lists,
and ``test_every_portal_page_is_catalogued`` fails when a new GET route has no entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.portal.portal_helpers import PortalStack

# GET routes that never render a page of their own: a redirect and two downloads.
NOT_PAGES = frozenset({"home", "export", "export_live"})


@dataclass(frozen=True)
class PortalPage:
    """A portal page: a name for test ids and screenshots, the route endpoint it renders, and
    the path (under ``/portal``) that shows it with the session stack's data, and the status an
    admin gets (a viewer gets 403 on admin pages)."""

    name: str
    endpoint: str
    path: Callable[[PortalStack], str]
    signed_in: bool = True
    status: int = 200


def _north_ids(stack: PortalStack) -> str:
    return "&".join(f"customer={customer.id}" for customer in stack.north)


def _north_range(stack: PortalStack) -> str:
    return f"from={stack.start}&to={stack.end}&{_north_ids(stack)}"


def _agency_id(stack: PortalStack) -> str:
    assert stack.agency is not None, "the portal stack connects an agency account"
    return stack.agency.id


PORTAL_PAGES: tuple[PortalPage, ...] = (
    PortalPage("login", "login_form", lambda s: "/login", signed_in=False),
    PortalPage("overview", "overview", lambda s: f"/overview?{_north_range(s)}"),
    PortalPage("ad-types", "ad_types", lambda s: f"/ad-types?{_north_range(s)}"),
    PortalPage("offers", "offers", lambda s: f"/offers?{_north_range(s)}"),
    PortalPage("reports", "reports", lambda s: f"/reports?{_north_range(s)}"),
    PortalPage(  # the form; the pulled page (a POST) is checked by its own test
        "reports-live",
        "reports_live_form",
        lambda s: f"/reports/live?customer={s.north[0].id}",
    ),
    PortalPage("customers", "customers_list", lambda s: "/customers"),
    PortalPage("customer", "customer_detail", lambda s: f"/customers/{s.north[0].id}"),
    PortalPage("connections", "connections", lambda s: "/connections"),
    PortalPage("api-log", "api_log", lambda s: "/api-log"),
    PortalPage("agency-accounts", "agency_accounts", lambda s: "/agency-accounts"),
    PortalPage(
        "agency-clients",
        "agency_clients",
        lambda s: f"/agency-accounts/{_agency_id(s)}/clients",
    ),
    PortalPage(
        "agency-declined",  # the admin said no on Allegro's consent page
        "agency_callback",
        lambda s: "/agency-accounts/callback?state=unknown&error=access_denied",
        status=400,
    ),
    PortalPage("viewers", "viewers_list", lambda s: "/viewers"),
)

ROLES = ("admin", "viewer")
# Screenshots the agency-scale browser test already takes of the viewer's pages
# (tests/portal/test_portal_scale_browser.py); the accessibility walk takes every other one.
SHOT_ELSEWHERE = frozenset(
    {("viewer", "overview"), ("viewer", "ad-types"), ("viewer", "offers"), ("viewer", "reports")}
)


@dataclass(frozen=True)
class ConsentPage:
    """A page of the consent flow a customer opens from their link."""

    name: str
    url: Callable[[str, str], str]  # from a fresh link's URL and the site's root URL


CONSENT_PAGES: tuple[ConsentPage, ...] = (
    ConsentPage("consent", lambda link, root: link),
    ConsentPage("consent-unknown-link", lambda link, root: f"{root}/authorize/not-a-real-link"),
)
