"""One customer's failure never stops the others, is named with its fix, and is repaired by a
re-run of just that customer."""

from __future__ import annotations

import pytest

from pipelines.checks import ALL_LOADED
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


def test_a_revoked_consent_fails_only_that_customer_and_a_reconnect_plus_rerun_repairs_it(
    agency: Agency,
) -> None:
    start, end = days_back(RUN_DAYS)
    revoked, *others = agency.customers
    agency.simulator.revoke(revoked.login)

    result = agency.run(start, end)

    assert result.success, "the other customers' data must be committed"
    for customer in others:
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)
    assert agency.stored(revoked, start, end) == {}
    metadata = materialization_metadata(result)
    assert metadata["customers_loaded"] == 2
    assert metadata["failed_customers"] == revoked.customer_id
    assert per_customer_error(metadata, revoked).startswith("NeedsReauthorization")
    assert [per_customer_error(metadata, customer) for customer in others] == ["", ""]
    check = check_results(result)[ALL_LOADED]
    assert not check.passed
    description = check.description or ""
    assert revoked.name in description and revoked.customer_id in description
    assert f"{start} .. {end}" in description
    assert f"allegro-ads links create {revoked.customer_id}" in description
    for customer in others:
        assert customer.customer_id not in description

    agency.connect(revoked.login, revoked.name)  # a new link, approved by the customer
    rerun = agency.run(start, end, only=[revoked.customer_id])

    assert rerun.success
    checks = check_results(rerun)
    assert checks and all(c.passed for c in checks.values()), {
        name: c.description for name, c in checks.items() if not c.passed
    }
    assert materialization_metadata(rerun)["customers_loaded"] == 1
    for customer in agency.customers:
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)


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
