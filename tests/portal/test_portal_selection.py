"""The customer selection of the analysis pages, through the WSGI app itself (werkzeug's test
client): a whole portfolio, customers by name, all in scope; anything outside the user's scope
is a 404 (never their own customers instead), and the selection rides along every view's
links so that it survives navigation and can be bookmarked."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import TestResponse

from authorize_app.portal.app import PortalApp
from control_store import customers, portfolios
from tests.portal.portal_helpers import CSRF_FIELD as CSRF
from tests.portal.portal_helpers import PortalStack, signed_in

ROWS = re.compile(r'<tr data-customer-id="([^"]+)"')


def portfolio_id(portal: PortalStack, name: str) -> str:
    return next(p.id for p in portfolios.list_portfolios(portal.control.engine) if p.name == name)


def in_portfolio(portal: PortalStack, name: str) -> set[str]:
    """Every customer of the portfolio, other tests' included."""
    every = customers.list_customers(portal.control.engine)
    return {c.id for c in every if c.portfolio_name == name}


def shown_customers(response: TestResponse) -> set[str]:
    return set(ROWS.findall(response.get_data(as_text=True)))


def test_a_viewer_naming_a_portfolio_outside_their_scope_gets_a_404_not_their_own_customers(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    south = portfolio_id(portal, "South")
    for path in ("/reports", "/reports/export?format=csv", "/overview"):
        joiner = "&" if "?" in path else "?"
        response = viewer.get(f"{path}{joiner}portfolio={south}")
        assert response.status_code == 404, path
        assert portal.north[0].id not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/overview", "/reports"])
def test_a_viewer_naming_a_customer_outside_their_scope_gets_a_404(
    portal_app: PortalApp, portal: PortalStack, path: str
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    own, foreign = portal.north[0].id, portal.south[0].id
    assert viewer.get(f"{path}?customer={foreign}").status_code == 404
    assert viewer.get(f"{path}?customer={own}&customer={foreign}").status_code == 404


def test_picking_a_portfolio_shows_exactly_its_customers(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    admin = signed_in(portal_app, portal.admin)
    south = portfolio_id(portal, "South")
    response = admin.get(f"/overview?portfolio={south}")
    assert response.status_code == 200
    assert shown_customers(response) == in_portfolio(portal, "South")


def test_nothing_picked_means_every_customer_in_the_viewers_scope(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    assert shown_customers(viewer.get("/overview")) == in_portfolio(portal, "North")


def test_every_view_link_carries_the_dates_and_the_selection(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    north = portfolio_id(portal, "North")
    own = portal.north[0].id
    query = f"from={portal.start}&to={portal.end}&portfolio={north}&customer={own}"
    page = viewer.get(f"/overview?{query}").get_data(as_text=True)
    tabs = re.findall(r'<a href="([^"]+)" id="tab-(\w+)"', page)
    assert {name for _, name in tabs} == {"overview", "ad_types", "offers", "reports"}
    for href, _ in tabs:
        carried = parse_qs(urlsplit(unescape(href)).query)
        assert carried["portfolio"] == [north] and carried["customer"] == [own]
        assert carried["from"] == [str(portal.start)] and carried["to"] == [str(portal.end)]


def test_the_search_lists_matching_customers_of_the_scope_only(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    page = viewer.get("/overview?q=a").get_data(as_text=True)  # "Beta Meble" (South) has one too
    listed = set(re.findall(r'name="customer" value="([^"]+)"', page))
    assert portal.north[0].id in listed  # "Alfa Ogrody"
    assert portal.south[0].id not in listed


def test_a_link_to_the_live_report_shows_the_form_and_pulls_nothing(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    admin = signed_in(portal_app, portal.admin)
    before = portal.simulator.stats()["requests"]
    page = admin.get(f"/reports/live?customer={portal.north[0].id}")
    assert page.status_code == 200
    assert "nothing was pulled" in page.get_data(as_text=True)
    assert portal.simulator.stats()["requests"] == before


@pytest.mark.parametrize("path", ["/reports/live", "/reports/live/export"])
def test_a_live_pull_without_the_sessions_csrf_token_is_refused_and_calls_nobody(
    portal_app: PortalApp, portal: PortalStack, path: str
) -> None:
    admin = signed_in(portal_app, portal.admin)
    before = portal.simulator.stats()["requests"]
    fields = {"customer": portal.north[0].id, "format": "csv"}
    assert admin.post(path, data=fields).status_code == 403
    assert admin.post(path, data=fields | {"csrf_token": "forged"}).status_code == 403
    assert portal.simulator.stats()["requests"] == before


def test_a_live_pull_with_the_token_is_marked_live_and_offers_its_export(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    admin = signed_in(portal_app, portal.admin)
    form = admin.get("/reports/live").get_data(as_text=True)
    csrf = CSRF.search(form)
    assert csrf is not None
    pulled = admin.post(
        "/reports/live", data={"customer": portal.north[0].id, "csrf_token": csrf[1]}
    )
    page = pulled.get_data(as_text=True)
    assert pulled.status_code == 200
    assert 'id="live-badge">LIVE<' in page and "pulled from Allegro at" in page
    export_form = re.search(r'<form method="post" action="([^"]+)"[^>]*id="live-export">', page)
    assert export_form is not None and export_form[1] == "/reports/live/export"
    exported = admin.post(
        "/reports/live/export",
        data={"customer": portal.north[0].id, "csrf_token": csrf[1], "format": "csv"},
    )
    assert exported.status_code == 200
    assert "campaigns_live_" in exported.headers["Content-Disposition"]


def test_the_live_link_keeps_the_selection_but_not_a_range_too_long_to_pull(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    north = portfolio_id(portal, "North")
    stored = viewer.get(f"/reports?portfolio={north}").get_data(as_text=True)  # 30 days
    live = re.search(r'<a href="([^"]+)"[^>]*>Live \(', stored)
    assert live is not None
    assert parse_qs(urlsplit(unescape(live[1])).query) == {"portfolio": [north]}
    form = viewer.get(unescape(live[1])).get_data(as_text=True)
    start = re.search(r'name="from" value="([\d-]+)"', form)
    end = re.search(r'name="to" value="([\d-]+)"', form)
    assert start and end
    assert (date.fromisoformat(end[1]) - date.fromisoformat(start[1])).days + 1 <= 14
    assert f'name="portfolio" value="{north}"' in form
