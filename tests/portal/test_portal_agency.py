"""Agency accounts in the portal over HTTP: "Connect agency account" through Allegro's code
flow and the shared callback (only the admin who began it finishes it, a refusal stores nothing,
another agency's Allegro account is refused), adopting and linking clients, a client that left
the agency's list flagged on its customer, a broken agency connection at the top of the board
naming the customers it stops (a viewer sees only theirs), and reports naming the offers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from allegro_resource.models import TokenSet
from authorize_app.portal.statistics_links import ACCESS_REMOVED
from control_store import agency_accounts, agency_clients, customers, users
from control_store.agency_accounts import AgencyAccount
from control_store.customers import Customer
from control_store.schema import agency_oauth_states
from simulator.browser import answer_consent_page
from tests.portal.portal_helpers import (
    AGENCY_LOGIN,
    HTTP_TIMEOUT,
    SECOND_AGENCY_LOGIN,
    Account,
    PortalStack,
    page_csrf,
    post,
    pull_live,
    sign_in,
    text_of,
)
from tests.portal.test_portal_pages import get, row_attr, table_html
from warehouse.offer_queries import top_offers, unavailable_offer_spend
from warehouse.stats_queries import graphic_ad_report

ADOPTED_SELLER, LINKED_SELLER = 10, 12  # clients of "agency" no other test uses


def _main(portal: PortalStack) -> AgencyAccount:
    assert portal.agency is not None
    return portal.agency


def start_connect(http: requests.Session, stack: PortalStack, agency_id: str) -> str:
    """Press Connect: the Allegro URL the portal sends the browser to."""
    csrf = page_csrf(http, stack.portal("/agency-accounts"))
    start = post(http, stack.portal(f"/agency-accounts/{agency_id}/connect"), {"csrf_token": csrf})
    assert start.status_code == 303, text_of(start.text)
    return start.headers["Location"]


def forwarded_callback(
    http: requests.Session, allegro_url: str, login: str, decision: str = "approve"
) -> str:
    """Answer Allegro's page; follow its redirect to /oauth/callback, which forwards to the
    portal: the portal URL, not yet opened."""
    page = http.get(allegro_url, timeout=HTTP_TIMEOUT)
    answer = answer_consent_page(http, page, login, decision, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    callback = http.get(answer.headers["Location"], allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert callback.status_code == 303, callback.text
    location = callback.headers["Location"]
    assert location.startswith("/portal/agency-accounts/callback?"), location
    return location


def open_portal(http: requests.Session, stack: PortalStack, location: str) -> requests.Response:
    return http.get(stack.url + location, allow_redirects=False, timeout=HTTP_TIMEOUT)


@pytest.fixture
def second_admin(portal: PortalStack) -> Iterator[requests.Session]:
    account = Account(f"admin.{datetime.now(UTC).timestamp()}@agency.test")
    users.create_user(portal.control.engine, account.email, account.password, "admin")
    with sign_in(portal, account) as http:
        yield http


# --- connecting ---------------------------------------------------------------------------------


def test_connect_sends_the_admin_to_allegro_for_the_agency_scope_with_pkce(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    url = start_connect(admin_http, portal, _main(portal).id)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(portal.simulator.base_url + "/auth/oauth/authorize?")
    assert query["scope"] == ["allegro:api:ads"]
    assert query["code_challenge_method"] == ["S256"]
    admin = users.find_user(portal.control.engine, portal.admin.email)
    with portal.control.engine.connect() as conn:
        row = conn.execute(
            agency_oauth_states.select().where(agency_oauth_states.c.state == query["state"][0])
        ).one()
    assert (row.agency_account_id, row.user_id) == (_main(portal).id, admin.id)


def test_reconnecting_through_the_shared_callback_stores_a_new_pair_and_lists_clients(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    agency = _main(portal)
    before = portal.control.tokens.info(agency.id)
    assert before is not None
    location = forwarded_callback(
        admin_http, start_connect(admin_http, portal, agency.id), AGENCY_LOGIN
    )
    done = open_portal(admin_http, portal, location)
    assert done.status_code == 303
    assert done.headers["Location"] == f"/portal/agency-accounts/{agency.id}/clients"
    after = portal.control.tokens.info(agency.id)
    assert after is not None and after.connected_at > before.connected_at
    assert after.status == "connected" and after.allegro_login == AGENCY_LOGIN
    page = get(admin_http, portal, f"/agency-accounts/{agency.id}/clients")
    client = str(portal.simulator.users()[ADOPTED_SELLER]["ads_client_id"])
    assert client in row_attr(table_html(page, "unadopted-clients"), "client-id")


def test_only_the_admin_who_began_it_can_finish_it(
    portal: PortalStack, admin_http: requests.Session, second_admin: requests.Session
) -> None:
    agency = _main(portal)
    location = forwarded_callback(
        admin_http, start_connect(admin_http, portal, agency.id), AGENCY_LOGIN
    )
    before = portal.control.tokens.info(agency.id)
    refused = open_portal(second_admin, portal, location)
    assert refused.status_code == 400
    assert "started by another admin" in text_of(refused.text)
    assert portal.control.tokens.info(agency.id) == before  # nothing stored
    assert open_portal(admin_http, portal, location).status_code == 303  # still the owner's


def test_a_refusal_at_allegro_stores_nothing_and_cannot_be_replayed(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    agency = _main(portal)
    before = portal.control.tokens.info(agency.id)
    url = start_connect(admin_http, portal, agency.id)
    location = forwarded_callback(admin_http, url, AGENCY_LOGIN, decision="deny")
    denied = open_portal(admin_http, portal, location)
    assert denied.status_code == 403 and "did not grant access" in text_of(denied.text)
    assert portal.control.tokens.info(agency.id) == before
    replayed = open_portal(admin_http, portal, location)
    assert replayed.status_code == 400 and "already completed" in text_of(replayed.text)


def test_an_allegro_account_that_is_another_agencys_is_refused(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    agency = _main(portal)
    before = portal.control.tokens.info(agency.id)
    location = forwarded_callback(
        admin_http, start_connect(admin_http, portal, agency.id), SECOND_AGENCY_LOGIN
    )
    refused = open_portal(admin_http, portal, location)
    assert refused.status_code == 409
    assert portal.control.tokens.info(agency.id) == before
    found = agency_accounts.get_agency_account(portal.control.engine, agency.id)
    assert found is not None and found.allegro_login == AGENCY_LOGIN


def test_a_customers_consent_on_the_shared_callback_is_still_the_customers(
    portal: PortalStack, anon_http: requests.Session
) -> None:
    # An unknown state is not an agency one: the customer's consent flow answers it.
    answer = anon_http.get(
        portal.url + "/oauth/callback?state=not-ours&code=x",
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 400
    assert "could not be completed" in text_of(answer.text)


# --- clients --------------------------------------------------------------------------------


def _client_of(portal: PortalStack, seller: int) -> str:
    return str(portal.simulator.users()[seller]["ads_client_id"])


def test_an_admin_creates_a_customer_from_a_client(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    agency = _main(portal)
    client = _client_of(portal, ADOPTED_SELLER)
    csrf = page_csrf(admin_http, portal.portal(f"/agency-accounts/{agency.id}/clients"))
    fields = {"csrf_token": csrf, "client_id": client, "name": "Zeta Rowery", "portfolio": ""}
    done = post(admin_http, portal.portal(f"/agency-accounts/{agency.id}/adopt"), fields)
    assert done.status_code == 303
    adopted = customers.find_customer(portal.control.engine, "Zeta Rowery")
    assert (adopted.agency_account_id, adopted.ads_client_id) == (agency.id, client)
    page = get(admin_http, portal, f"/agency-accounts/{agency.id}/clients")
    assert client in row_attr(table_html(page, "adopted-clients"), "client-id")
    again = post(admin_http, portal.portal(f"/agency-accounts/{agency.id}/adopt"), fields)
    assert again.status_code == 409 and "already adopted" in text_of(again.text)


def test_an_admin_links_a_client_to_an_existing_customer(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    agency = _main(portal)
    existing = customers.create_customer(portal.control.engine, "Eta Narzędzia")
    client = _client_of(portal, LINKED_SELLER)
    csrf = page_csrf(admin_http, portal.portal(f"/agency-accounts/{agency.id}/clients"))
    fields = {"csrf_token": csrf, "client_id": client, "customer": existing.id}
    done = post(admin_http, portal.portal(f"/agency-accounts/{agency.id}/link"), fields)
    assert done.status_code == 303
    linked = customers.find_customer(portal.control.engine, existing.id)
    assert (linked.agency_account_id, linked.ads_client_id) == (agency.id, client)
    detail = get(admin_http, portal, f"/customers/{existing.id}")
    assert f"agency account {agency.name}" in text_of(detail.text)


def test_a_customer_whose_client_left_the_agencys_list_is_flagged(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    engine = portal.control.engine
    agency = agency_accounts.create_agency_account(engine, "Agencja Odpływ")
    now = datetime.now(UTC)
    agency_clients.record_client_listing(engine, agency.id, [("gone-1", "Sklep Odszedł")], now)
    customer = agency_clients.adopt_client(engine, agency.id, "gone-1")
    agency_clients.record_client_listing(engine, agency.id, [], now + timedelta(days=1))

    detail = unescape(text_of(get(admin_http, portal, f"/customers/{customer.id}").text))
    assert ACCESS_REMOVED in detail
    board = table_html(get(admin_http, portal, "/connections"), "connections")
    row = re.search(rf'data-customer-id="{customer.id}".*?</tr>', board, re.S)
    assert row and ACCESS_REMOVED in unescape(text_of(row.group(0)))
    clients = get(admin_http, portal, f"/agency-accounts/{agency.id}/clients")
    assert row_attr(table_html(clients, "removed-clients"), "client-id") == ["gone-1"]


# --- the board --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(portal: PortalStack) -> tuple[AgencyAccount, Customer, Customer]:
    """An agency account whose connection was revoked, serving a North and a South customer."""
    engine = portal.control.engine
    agency = agency_accounts.create_agency_account(engine, "Agencja Zepsuta")
    pair = TokenSet(
        "ACCESS-broken-" + "a" * 20,
        "REFRESH-broken-" + "r" * 20,
        datetime.now(UTC) + timedelta(hours=12),
        "allegro:api:ads",
    )
    portal.control.tokens.save_agency_connection(
        agency.id, pair, allegro_login="agency-old", allegro_user_id="broken-user-1"
    )
    portal.control.tokens.revoke(agency.id, "invalid_grant: consent withdrawn")
    north = customers.create_customer(engine, "Iota Lampy", portfolio="North")
    south = customers.create_customer(engine, "Kappa Dywany", portfolio="South")
    for customer, client in ((north, "broken-client-1"), (south, "broken-client-2")):
        customers.set_statistics_link(engine, customer.id, agency.id, client)
    return agency, north, south


def test_a_broken_agency_connection_tops_the_board_naming_every_customer_it_stops(
    portal: PortalStack,
    admin_http: requests.Session,
    broken: tuple[AgencyAccount, Customer, Customer],
) -> None:
    agency, north, south = broken
    page = get(admin_http, portal, "/connections")
    table = table_html(page, "agency-connections")
    first = re.search(r"<tbody>\s*<tr([^>]*)>(.*?)</tr>", table, re.S)
    assert first and f'data-agency-account-id="{agency.id}"' in first.group(1)
    assert "urgent" in first.group(1)
    cells = text_of(first.group(2))
    assert "Revoked" in cells and north.name in cells and south.name in cells
    assert f'action="/portal/agency-accounts/{agency.id}/connect"' in first.group(2)
    assert 'id="agency-alert"' in page.text


def test_a_viewer_sees_the_broken_agency_naming_only_their_customers(
    portal: PortalStack,
    viewer_http: requests.Session,
    broken: tuple[AgencyAccount, Customer, Customer],
) -> None:
    agency, north, south = broken
    table = table_html(get(viewer_http, portal, "/connections"), "agency-connections")
    row = re.search(rf'data-agency-account-id="{agency.id}".*?</tr>', table, re.S)
    assert row and north.name in row.group(0)
    assert south.name not in row.group(0) and south.id not in row.group(0)
    assert "ask an admin to reconnect" in text_of(row.group(0))
    assert "/connect" not in row.group(0)


def test_a_live_pull_of_a_customer_behind_a_broken_agency_says_to_reconnect(
    portal: PortalStack,
    admin_http: requests.Session,
    broken: tuple[AgencyAccount, Customer, Customer],
) -> None:
    _, north, _ = broken
    before = portal.simulator.stats()["requests"]
    live = pull_live(admin_http, portal, f"customer={north.id}")
    assert live.status_code == 200
    errors = text_of(table_html(live, "report-errors"))
    assert north.name in errors and "Reconnect" in errors
    assert portal.simulator.stats()["requests"] == before  # refused without calling Allegro


# --- reports ------------------------------------------------------------------------------------


def test_the_report_names_the_offers_behind_the_spend(
    portal: PortalStack, viewer_http: requests.Session
) -> None:
    alpha = portal.north[0]
    query = f"/reports?from={portal.start}&to={portal.end}&customer={alpha.id}"
    table = table_html(get(viewer_http, portal, query), "top-offers")
    expected = top_offers(portal.warehouse, [alpha.id], portal.start, portal.end).to_pylist()
    assert expected and all(row["offer_name"] for row in expected)
    assert row_attr(table, "offer-id") == [row["offer_id"] for row in expected]
    shown = re.findall(r'<td class="offer-name">(.*?)</td>', table, re.S)
    assert [unescape(text_of(name)) for name in shown] == [row["offer_name"] for row in expected]


def test_the_report_shows_spend_on_unavailable_offers_per_customer(
    portal: PortalStack, viewer_http: requests.Session
) -> None:
    alpha = portal.north[0]
    page = get(viewer_http, portal, f"/reports?from={portal.start}&to={portal.end}")
    table = table_html(page, "unavailable-spend")
    expected = unavailable_offer_spend(
        portal.warehouse, [alpha.id], portal.start, portal.end
    ).to_pylist()
    assert expected and expected[0]["unavailable_spend"] > Decimal(0)
    row = re.search(rf'data-customer-id="{alpha.id}".*?</tr>', table, re.S)
    assert row
    amount = f"{expected[0]['unavailable_spend']:,.2f}".replace(",", "\u202f")
    assert amount in row.group(0)
    assert portal.south[0].id not in table  # scope: a viewer's report holds only North


def test_graphic_ads_show_cpm_and_the_max_daily_reach_never_a_sum(
    portal: PortalStack, admin_http: requests.Session
) -> None:
    alpha = portal.north[0]
    page = get(
        admin_http, portal, f"/reports?from={portal.start}&to={portal.end}&customer={alpha.id}"
    )
    table = table_html(page, "graphic-ads")
    assert '<th scope="col" class="num">CPM</th>' in table and "Max daily reach" in table
    expected = graphic_ad_report(portal.warehouse, [alpha.id], portal.start, portal.end)
    reach = expected.column("max_daily_unique_reach").to_pylist()
    cells = re.findall(r'<td class="num">([\d\u202f]+)</td></tr>', table)
    assert [int(c.replace("\u202f", "")) for c in cells] == reach
    assert "reach" not in text_of(table_html(page, "campaigns")).lower()
