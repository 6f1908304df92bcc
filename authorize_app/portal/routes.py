"""Every portal route in one table: path, methods, who may use it, and its handler.

``Access.PUBLIC`` needs no session; ``USER`` any signed-in account (data limited by its
scope); ``ADMIN`` admins only (viewers get 403). ``api=True`` answers 401 instead of
redirecting to the login page (downloads are not pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from authorize_app.portal import (
    ad_types_pages,
    api_log_pages,
    auth,
    connections_pages,
    contact_pages,
    exports,
    offers_pages,
    overview_pages,
    reports_pages,
)
from authorize_app.portal import agency_pages as agency
from authorize_app.portal import customers_pages as customers
from authorize_app.portal import viewers_pages as viewers
from authorize_app.portal.agency_pages import AGENCY_CALLBACK_PATH as AGENCY_CALLBACK
from authorize_app.portal.context import Ctx

Handler = Callable[..., Response]


class Access(Enum):
    PUBLIC = "public"
    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Route:
    path: str
    method: str
    endpoint: str
    access: Access
    handler: Handler
    api: bool = False


def home(ctx: Ctx) -> Response:
    """GET /: the overview, the agency's state at a glance, is where a visit starts."""
    return redirect(ctx.url("overview"), code=303)


USER, ADMIN, PUBLIC = Access.USER, Access.ADMIN, Access.PUBLIC

ROUTES: tuple[Route, ...] = (
    Route("/", "GET", "home", USER, home),
    Route("/login", "GET", "login_form", PUBLIC, auth.login_form),
    Route("/login", "POST", "login", PUBLIC, auth.login),
    Route("/logout", "POST", "logout", USER, auth.logout),
    Route("/customers", "GET", "customers_list", USER, customers.customers_list),
    Route("/customers", "POST", "customer_create", ADMIN, customers.customer_create),
    Route("/customers/<customer_id>", "GET", "customer_detail", USER, customers.customer_detail),
    Route(
        "/customers/<customer_id>/deactivate",
        "POST",
        "customer_deactivate",
        ADMIN,
        customers.customer_deactivate,
    ),
    Route(
        "/customers/<customer_id>/portfolio",
        "POST",
        "customer_portfolio",
        ADMIN,
        customers.customer_portfolio,
    ),
    Route("/customers/<customer_id>/links", "POST", "link_create", ADMIN, customers.link_create),
    Route(
        "/customers/<customer_id>/links/send", "POST", "link_send", ADMIN, contact_pages.link_send
    ),
    Route(
        "/customers/<customer_id>/contact",
        "POST",
        "customer_contact",
        ADMIN,
        contact_pages.customer_contact,
    ),
    Route("/links/<link_id>/revoke", "POST", "link_revoke", ADMIN, customers.link_revoke),
    Route("/portfolios", "POST", "portfolio_create", ADMIN, customers.portfolio_create),
    Route("/viewers", "GET", "viewers_list", ADMIN, viewers.viewers_list),
    Route("/viewers", "POST", "viewer_create", ADMIN, viewers.viewer_create),
    Route(
        "/viewers/<user_id>/deactivate",
        "POST",
        "viewer_deactivate",
        ADMIN,
        viewers.viewer_deactivate,
    ),
    Route("/viewers/<user_id>/grant", "POST", "viewer_grant", ADMIN, viewers.viewer_grant),
    Route("/viewers/<user_id>/revoke", "POST", "viewer_revoke", ADMIN, viewers.viewer_revoke),
    Route("/connections", "GET", "connections", USER, connections_pages.connections),
    Route("/agency-accounts", "GET", "agency_accounts", ADMIN, agency.agency_accounts_page),
    Route("/agency-accounts", "POST", "agency_account_create", ADMIN, agency.agency_account_create),
    Route(AGENCY_CALLBACK, "GET", "agency_callback", ADMIN, agency.agency_callback),
    Route(
        "/agency-accounts/<agency_account_id>/connect",
        "POST",
        "agency_connect",
        ADMIN,
        agency.agency_connect,
    ),
    Route(
        "/agency-accounts/<agency_account_id>/clients",
        "GET",
        "agency_clients",
        ADMIN,
        agency.agency_clients_page,
    ),
    Route(
        "/agency-accounts/<agency_account_id>/clients/refresh",
        "POST",
        "agency_clients_refresh",
        ADMIN,
        agency.agency_clients_refresh,
    ),
    Route(
        "/agency-accounts/<agency_account_id>/adopt",
        "POST",
        "agency_client_adopt",
        ADMIN,
        agency.agency_client_adopt,
    ),
    Route(
        "/agency-accounts/<agency_account_id>/link",
        "POST",
        "agency_client_link",
        ADMIN,
        agency.agency_client_link,
    ),
    Route("/api-log", "GET", "api_log", USER, api_log_pages.api_log),
    Route("/overview", "GET", "overview", USER, overview_pages.overview),
    Route("/ad-types", "GET", "ad_types", USER, ad_types_pages.ad_types),
    Route("/offers", "GET", "offers", USER, offers_pages.offers),
    Route("/reports", "GET", "reports", USER, reports_pages.reports),
    Route("/reports/live", "GET", "reports_live_form", USER, reports_pages.reports_live_form),
    Route("/reports/live", "POST", "reports_live", USER, reports_pages.reports_live),
    Route("/reports/export", "GET", "export", USER, exports.export_stored, api=True),
    Route("/reports/live/export", "POST", "export_live", USER, exports.export_live, api=True),
)

BY_ENDPOINT = {route.endpoint: route for route in ROUTES}

URL_MAP = Map(
    [Rule(r.path, endpoint=r.endpoint, methods=[r.method]) for r in ROUTES],
    strict_slashes=False,
    merge_slashes=False,  # its redirect named the Host header's server: //x is a 404 instead
)
