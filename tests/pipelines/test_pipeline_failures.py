"""One customer's failure never stops the others, is named with its fix, and is repaired by a
re-run of just that customer; a broken agency connection fails exactly the customers behind it;
a broken sales connection costs only offer enrichment."""

from __future__ import annotations

import pytest

from pipelines.checks import ALL_LOADED
from pipelines.discovery_asset import ALL_AGENCIES_LISTED
from pipelines.offers_asset import ALL_OFFERS_LOADED, OFFERS
from testing.pipeline_agency import (
    Agency,
    Connected,
    check_results,
    days_back,
    materialization_metadata,
)

RUN_DAYS = 30


def per_customer_error(metadata: dict[str, object], customer: Connected) -> str:
    """The error cell of the customer's line in the ``per_customer`` Markdown table
    (columns: customer, id, rows, days, API calls, retries, error, fix)."""
    table = str(metadata["per_customer"])
    lines = [line for line in table.splitlines() if f"| {customer.customer_id} |" in line]
    assert len(lines) == 1, f"{customer.name} should have one line in:\n{table}"
    cells = [cell.strip() for cell in lines[0].strip().strip("|").split("|")]
    assert len(cells) == 8, lines[0]
    return cells[6]


@pytest.mark.parametrize("agencies", [2])
def test_a_revoked_agency_connection_fails_every_customer_behind_it_with_the_fix_others_load(
    empty_agency: Agency,
) -> None:
    agency = empty_agency
    for user in agency.simulator.users()[:4]:  # two clients of each agency account
        agency.adopt(user["login"], user["name"], sales=False)
    behind = [c for c in agency.customers if c.agency_login == "agency2"]
    others = [c for c in agency.customers if c.agency_login == "agency"]
    assert len(behind) == len(others) == 2
    start, end = days_back(RUN_DAYS)
    agency.simulator.revoke("agency2")  # the agency removed the application in Allegro

    result = agency.run_daily(start, end)

    assert result.success, "the other agency account's customers must be committed"
    for customer in others:
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)
    for customer in behind:
        assert agency.stored(customer, start, end) == {}
    metadata = materialization_metadata(result)
    assert metadata["customers_loaded"] == len(others)
    assert set(str(metadata["failed_customers"]).split(", ")) == {c.customer_id for c in behind}
    errors = {per_customer_error(metadata, customer) for customer in behind}
    assert len(errors) == 1, f"one reason for every customer behind agency2: {errors}"
    (error,) = errors
    assert "agency account agency2 needs re-authorisation" in error
    assert "invalid_grant" in error, "Allegro's reason"
    check = check_results(result)[ALL_LOADED]
    assert not check.passed
    description = check.description or ""
    for customer in behind:
        assert f"{customer.name} ({customer.customer_id}) not loaded" in description
    assert description.count("allegro-ads agency connect agency2") == len(behind)
    for customer in others:
        assert customer.customer_id not in description
    listed = check_results(result)[ALL_AGENCIES_LISTED]
    assert not listed.passed
    assert "agency account agency2 not listed" in (listed.description or "")

    agency.connect_agency("agency2")  # the admin runs allegro-ads agency connect agency2
    rerun = agency.run(start, end, only=[c.customer_id for c in behind])

    assert rerun.success
    assert check_results(rerun)[ALL_LOADED].passed
    for customer in agency.customers:
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)


def test_a_seller_who_withdraws_consent_loses_only_offer_enrichment(agency: Agency) -> None:
    start, end = days_back(RUN_DAYS)
    first = agency.run_daily(start, end)
    assert first.success
    withdrawn, *others = agency.customers
    offers_before = agency.stored_offers(withdrawn)
    assert offers_before, "the first run stores the seller's offers"
    agency.simulator.revoke(withdrawn.login)  # the seller removed the application

    result = agency.run_daily(start, end)

    assert result.success
    assert check_results(result)[ALL_LOADED].passed, "statistics need no seller consent"
    for customer in agency.customers:
        rows = agency.stored_with_lineage(customer, start, end)
        assert {values[-2] for values in rows.values()} == {result.run_id}
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)
    offers = {
        k: v.value for k, v in result.asset_materializations_for_node(OFFERS)[-1].metadata.items()
    }
    assert offers["failed_customers"] == withdrawn.customer_id
    offers_check = check_results(result)[ALL_OFFERS_LOADED]
    assert not offers_check.passed
    description = offers_check.description or ""
    assert f"{withdrawn.name} ({withdrawn.customer_id}) offers not refreshed" in description
    assert f"allegro-ads links create {withdrawn.customer_id}" in description
    assert agency.stored_offers(withdrawn) == offers_before, "its last offers stay"
    for customer in others:
        assert customer.customer_id not in description


@pytest.mark.parametrize("fault", ["malformed_next", "truncate_next"])
def test_a_malformed_answer_fails_that_customer_and_keeps_its_previously_loaded_data(
    agency: Agency, fault: str
) -> None:
    start, end = days_back(RUN_DAYS)
    first = agency.run(start, end)
    victim, *others = agency.customers
    before = agency.stored_with_lineage(victim, start, end)
    assert before
    agency.simulator.faults(**{fault: 100, "clients": [victim.ads_client_id]})

    result = agency.run(start, end)

    assert result.success
    metadata = materialization_metadata(result)
    assert metadata["failed_customers"] == victim.customer_id
    assert per_customer_error(metadata, victim).startswith("MalformedResponse")
    assert not check_results(result)[ALL_LOADED].passed
    assert agency.stored_with_lineage(victim, start, end) == before, "previous data must stay"
    for customer in others:
        rows = agency.stored_with_lineage(customer, start, end)
        run_ids = {values[-2] for values in rows.values()}
        assert run_ids == {result.run_id} != {first.run_id}, f"{customer.name} not committed"
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)
