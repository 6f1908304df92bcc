"""Access over HTTP for every route and both roles (and nobody signed in): a viewer never
receives another portfolio's data, whether asking for lists, direct ids, exports or live
pulls; admin-only routes refuse viewers; anonymous visitors go to the login page (exports: 401).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pyarrow.parquet as pq
import pytest
import requests

from authorize_app.portal.routes import ROUTES, URL_MAP, Access
from control_store import auth_links, customers, portfolios, users
from tests.portal.portal_helpers import (
    HTTP_TIMEOUT,
    PortalStack,
    page_csrf,
    pull_live,
    sign_in,
)


@dataclass(frozen=True)
class Case:
    """One request: ``{own}``/``{foreign}`` become a North/South customer id, ``{link}`` a link
    of the South customer, ``{viewer}`` the North viewer's id, ``{agency}`` the connected
    agency account's id."""

    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, stack: PortalStack) -> str:
        link = auth_links.list_links(stack.control.engine, stack.south[0].id)[0]
        named = {p.name: p.id for p in portfolios.list_portfolios(stack.control.engine)}
        viewer = users.find_user(stack.control.engine, stack.viewer.email)
        assert stack.agency is not None
        filled = self.path.format(
            own=stack.north[0].id,
            foreign=stack.south[0].id,
            link=link.id,
            viewer=viewer.id,
            agency=stack.agency.id,
            own_portfolio=named["North"],
            foreign_portfolio=named["South"],
        )
        return stack.portal(filled)

    def route(self) -> tuple[str, Access, bool]:
        """(endpoint, access, api) of the route this request reaches."""
        path = self.path.split("?")[0].format(
            own="c",
            foreign="c",
            link="l",
            viewer="u",
            agency="a",
            own_portfolio="p",
            foreign_portfolio="p",
        )
        endpoint, _ = URL_MAP.bind("portal.test").match(path, method=self.method)
        found = next(r for r in ROUTES if r.endpoint == endpoint)
        return found.endpoint, found.access, found.api

    @property
    def foreign(self) -> bool:
        return any(f"{{{name}}}" in self.path for name in ("foreign", "foreign_portfolio", "link"))


CASES = [
    Case("GET", "/"),
    Case("GET", "/login"),
    Case("POST", "/login"),
    Case("POST", "/logout"),
    Case("GET", "/customers"),
    Case("POST", "/customers"),
    Case("GET", "/customers/{own}"),
    Case("GET", "/customers/{foreign}"),
    Case("POST", "/customers/{foreign}/deactivate"),
    Case("POST", "/customers/{foreign}/portfolio"),
    Case("POST", "/customers/{foreign}/links"),
    Case("POST", "/links/{link}/revoke"),
    Case("POST", "/portfolios"),
    Case("GET", "/viewers"),
    Case("POST", "/viewers"),
    Case("POST", "/viewers/{viewer}/deactivate"),
    Case("POST", "/viewers/{viewer}/grant"),
    Case("POST", "/viewers/{viewer}/revoke"),
    Case("GET", "/connections"),
    Case("GET", "/agency-accounts"),
    Case("POST", "/agency-accounts"),
    Case("GET", "/agency-accounts/callback"),
    Case("POST", "/agency-accounts/{agency}/connect"),
    Case("GET", "/agency-accounts/{agency}/clients"),
    Case("POST", "/agency-accounts/{agency}/clients/refresh"),
    Case("POST", "/agency-accounts/{agency}/adopt"),
    Case("POST", "/agency-accounts/{agency}/link"),
    Case("GET", "/api-log"),
    Case("GET", "/api-log?customer={own}"),
    Case("GET", "/api-log?customer={foreign}"),
    Case("GET", "/reports"),
    Case("GET", "/reports?customer={own}"),
    Case("GET", "/reports?customer={foreign}"),
    Case("GET", "/reports?customer={own}&customer={foreign}"),
    Case("GET", "/overview"),
    Case("GET", "/overview?customer={own}"),
    Case("GET", "/overview?portfolio={own_portfolio}"),
    Case("GET", "/overview?customer={foreign}"),
    Case("GET", "/overview?portfolio={foreign_portfolio}"),
    Case("GET", "/overview?portfolio={own_portfolio}&customer={foreign}"),
    Case("GET", "/ad-types"),
    Case("GET", "/ad-types?portfolio={own_portfolio}"),
    Case("GET", "/ad-types?customer={foreign}"),
    Case("GET", "/offers"),
    Case("GET", "/offers?customer={own}"),
    Case("GET", "/offers?portfolio={foreign_portfolio}"),
    Case("GET", "/reports?portfolio={foreign_portfolio}"),
    Case("GET", "/reports/live"),
    Case("GET", "/reports/live?customer={own}"),
    Case("GET", "/reports/live?customer={foreign}"),
    Case("GET", "/reports/live?customer={own}&customer={foreign}"),
    Case("POST", "/reports/live?customer={own}"),
    Case("POST", "/reports/live?customer={foreign}"),
    Case("POST", "/reports/live?portfolio={foreign_portfolio}"),
    Case("GET", "/reports/export?format=csv"),
    Case("GET", "/reports/export?format=parquet"),
    Case("GET", "/reports/export?format=csv&customer={foreign}"),
    Case("GET", "/reports/export?format=parquet&customer={own}&customer={foreign}"),
    Case("POST", "/reports/live/export?format=csv&customer={own}"),
    Case("POST", "/reports/live/export?format=csv&customer={foreign}"),
    Case("POST", "/reports/live/export?format=parquet"),
]


def send(
    http: requests.Session, stack: PortalStack, case: Case, csrf: str = ""
) -> requests.Response:
    url = case.url(stack)
    data = {"csrf_token": csrf, "name": "x", "portfolio": "", "email": "x@agency.test"}
    fields: list[tuple[str, str]] = list(data.items())
    if case.method == "POST" and "?" in url:  # a form's fields, as the page's form sends them
        url, query = url.split("?", 1)
        fields = [(k, v) for k, v in fields if k != "portfolio"] + parse_qsl(query)
    return http.request(
        case.method,
        url,
        data=fields if case.method == "POST" else None,
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )


def body_text(response: requests.Response) -> str:
    """What the client received, Parquet exports included, as text to search."""
    if response.headers.get("Content-Type", "").startswith("application/vnd.apache.parquet"):
        table = pq.read_table(io.BytesIO(response.content))
        return str(table.to_pylist())
    return response.text


def test_the_table_covers_every_route() -> None:
    assert {case.route()[0] for case in CASES} == {route.endpoint for route in ROUTES}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_anonymous_visitors_are_sent_to_the_login_page_or_get_401(
    portal: PortalStack, anon_http: requests.Session, case: Case
) -> None:
    _, access, api = case.route()
    response = send(anon_http, portal, case)
    if case.method == "POST":
        assert response.status_code == 403  # no session, no CSRF token: refused first
    elif access is Access.PUBLIC:
        assert response.status_code == 200
    elif api:
        assert response.status_code == 401
        assert "Sign in" in response.text
    else:
        assert response.status_code == 303  # its body only echoes the URL asked for
        assert response.headers["Location"].startswith("/portal/login")
        return
    for marker in [*portal.foreign_markers(), *(c.id for c in portal.north)]:
        assert marker not in body_text(response)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_viewer_never_receives_another_portfolios_data(
    portal: PortalStack, viewer_http: requests.Session, case: Case
) -> None:
    endpoint, access, _ = case.route()
    http = sign_in(portal, portal.viewer) if endpoint == "logout" else viewer_http
    csrf = page_csrf(http, portal.portal("/customers"))
    response = send(http, portal, case, csrf)

    if access is Access.ADMIN:
        assert response.status_code == 403
    elif case.foreign:
        assert response.status_code == 404
    elif endpoint in ("home", "logout", "login_form"):
        assert response.status_code == 303
    elif endpoint == "login":
        assert response.status_code == 400  # the form here has no password
    else:
        assert response.status_code == 200, response.text
    text = body_text(response)
    for marker in portal.foreign_markers():
        assert marker not in text, f"{case} leaked {marker!r}"


def test_refused_viewer_actions_changed_nothing(portal: PortalStack) -> None:
    beta = customers.get_customer(portal.control.engine, portal.south[0].id)
    assert beta is not None and beta.active and beta.portfolio_name == "South"
    viewer = users.find_user(portal.control.engine, portal.viewer.email)
    assert viewer.active and viewer.role == "viewer"


@pytest.mark.parametrize(
    "path",
    [
        "/reports",
        "/reports/export?format=csv",
        "/reports/live",
        "/connections",
        "/api-log",
        "/customers",
    ],
)
def test_a_viewer_without_portfolios_sees_no_customer_at_all(
    portal: PortalStack, path: str
) -> None:
    with sign_in(portal, portal.lonely_viewer) as http:
        response = http.get(portal.portal(path), timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    for marker in [*portal.foreign_markers(), *(c.id for c in portal.north)]:
        assert marker not in response.text


@pytest.mark.parametrize("case", [c for c in CASES if c.method == "GET"], ids=str)
def test_an_admin_reaches_every_page_and_every_customer(
    portal: PortalStack, admin_http: requests.Session, case: Case
) -> None:
    endpoint, _, _ = case.route()
    response = send(admin_http, portal, case)
    expected = {"home": 303, "login_form": 303, "agency_callback": 400}  # no state: refused
    assert response.status_code == expected.get(endpoint, 200), response.text


def test_a_viewers_pull_of_a_foreign_customer_calls_allegro_for_nobody(
    portal: PortalStack, viewer_http: requests.Session
) -> None:
    before = portal.simulator.stats()["requests"]
    foreign = portal.south[0].id
    assert pull_live(viewer_http, portal, f"customer={foreign}").status_code == 404
    assert pull_live(viewer_http, portal, f"customer={foreign}", export="csv").status_code == 404
    assert portal.simulator.stats()["requests"] == before
