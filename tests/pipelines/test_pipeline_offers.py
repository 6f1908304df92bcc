"""The daily run's ``offers`` asset: each consented customer's offers behind its sponsored ads,
as the seller's own account says, and the report query that flags spend on offers nobody can
buy."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from services.offers_sync import ad_offer_ids
from testing.pipeline_agency import Agency, Connected, days_back
from warehouse.offer_queries import unavailable_offer_spend
from warehouse.offers_schema import UNAVAILABLE_STATUSES

RUN_DAYS = 30


def test_offers_land_for_consented_customers_exactly_as_their_sales_accounts_hold_them(
    agency: Agency,
) -> None:
    seller = agency.simulator.users()[len(agency.customers)]
    unconsented = agency.adopt(seller["login"], seller["name"], sales=False)
    start, end = days_back(RUN_DAYS)

    result = agency.run_daily(start, end)

    assert result.success
    for customer in agency.customers:
        if customer == unconsented:
            continue
        with agency.warehouse() as wh:
            pointed_to = ad_offer_ids(wh, customer.customer_id)
        true_offers = agency.true_offers(customer)
        assert pointed_to and set(pointed_to) <= set(true_offers), customer.name
        expected = {offer_id: true_offers[offer_id] for offer_id in pointed_to}
        assert agency.stored_offers(customer) == expected, customer.name
    assert agency.stored_offers(unconsented) == {}, "no sales account, no offers asked"
    assert agency.stored(unconsented, start, end) == agency.truth(unconsented, start, end)


def expected_unavailable(
    agency: Agency, customer: Connected, start: date, end: date
) -> tuple[Decimal, Decimal, int]:
    """(sponsored spend, spend on unavailable offers, unavailable offers) from the truth."""
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for (ad_type, _, _), values in agency.truth(customer, start, end).items():
        if ad_type == "SPONSORED_OFFER":
            spend[values[3]] += values[7]  # offer_id, cost
    true_offers = agency.true_offers(customer)
    unavailable = {
        offer_id
        for offer_id in spend
        if true_offers[offer_id][5] in UNAVAILABLE_STATUSES or true_offers[offer_id][3] == 0
    }
    return (
        sum(spend.values(), Decimal(0)),
        sum((spend[o] for o in unavailable), Decimal(0)),
        len(unavailable),
    )


def test_the_unavailable_offer_spend_query_returns_the_simulators_unavailable_offers(
    agency: Agency,
) -> None:
    start, end = days_back(RUN_DAYS)
    assert agency.run_daily(start, end).success
    ids = [c.customer_id for c in agency.customers]

    with agency.warehouse() as wh:
        found = unavailable_offer_spend(wh, ids, start, end).to_pylist()

    by_customer = {row["customer_id"]: row for row in found}
    assert set(by_customer) == set(ids)
    for customer in agency.customers:
        row = by_customer[customer.customer_id]
        actual = (row["sponsored_spend"], row["unavailable_spend"], row["unavailable_offers"])
        assert actual == expected_unavailable(agency, customer, start, end), customer.name
    assert any(row["unavailable_offers"] > 0 for row in found), "the seed has unavailable offers"
