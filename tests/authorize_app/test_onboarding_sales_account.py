"""The consent connects the customer's own sales account: Allegro is asked for the sales scope
only, ``/me`` binds the account, the customer's agency client link (its statistics) is left as
it was and no client is looked up, and the agency's own Allegro account is refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from control_store import customers
from testing.simulated_agency import adopt_seller, connect_agency
from tests.authorize_app.onboarding_helpers import (
    Onboarding,
    assert_nothing_stored,
    consent_over_http,
    page_text,
)


def test_the_customer_is_asked_for_the_sales_scope_only(
    onboarding: Onboarding, http: requests.Session
) -> None:
    issued = onboarding.new_link(onboarding.new_customer())

    started = http.post(issued.url, allow_redirects=False, timeout=30)

    assert started.status_code == 303
    scope = parse_qs(urlsplit(started.headers["Location"]).query)["scope"]
    assert scope == [onboarding.control.settings.sales_scope]
    assert "allegro:api:ads" not in scope[0].split()


def test_the_stored_sales_token_carries_the_sales_scope(
    onboarding: Onboarding, http: requests.Session
) -> None:
    customer = onboarding.new_customer()
    done = consent_over_http(http, onboarding.new_link(customer).url, onboarding.seller_login())
    assert done.status_code == 200

    info = onboarding.control.tokens.info(customer.id)
    assert info is not None
    assert info.kind == "sales"
    assert info.scope.split() == onboarding.control.settings.sales_scope.split()


def test_an_adopted_customer_keeps_its_agency_link_and_no_client_is_looked_up(
    onboarding: Onboarding, http: requests.Session
) -> None:
    control = onboarding.control
    agency = connect_agency(control, onboarding.simulator)
    login = onboarding.seller_login(2)
    adopted = adopt_seller(control, onboarding.simulator, agency, login)
    listings_before = onboarding.simulator.stats()["requests"]["clients"]

    done = consent_over_http(http, onboarding.new_link(adopted).url, login)

    assert done.status_code == 200, page_text(done)
    after = customers.get_customer(control.engine, adopted.id)
    assert after is not None
    assert (after.agency_account_id, after.ads_client_id) == (
        agency.id,
        adopted.ads_client_id,
    )
    assert (after.allegro_login, after.allegro_user_id) == (
        login,
        str(onboarding.simulator.users()[2]["user_id"]),
    )
    assert onboarding.simulator.stats()["requests"]["clients"] == listings_before


def test_the_agencys_own_account_signing_in_at_a_customers_link_is_refused(
    onboarding: Onboarding, http: requests.Session
) -> None:
    agency = connect_agency(onboarding.control, onboarding.simulator)
    customer = onboarding.new_customer()
    issued = onboarding.new_link(customer)

    answer = consent_over_http(http, issued.url, str(agency.allegro_login))

    assert answer.status_code == 409
    text = page_text(answer)
    assert "This is the agency's own Allegro account" in text
    assert "sign in with your business's own Allegro account" in text
    assert_nothing_stored(onboarding.control, customer, issued.link.id)
