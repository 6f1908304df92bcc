"""Portal load: 20 signed-in staff users (admins and viewers of one portfolio each) request
reports, CSV and Parquet exports, the connections board and the API log back to back against
the production WSGI server (waitress, in its own process). Nothing may fail and no viewer may
ever receive a customer outside their portfolios; latency is recorded, not judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.portal_data import BenchWarehouse
from testing.portal_load import (
    KINDS,
    LoadUser,
    Scenario,
    customers_in,
    judge_answer,
    load_portal,
    plan_scenario,
    run_portal_load,
)

SECONDS = 15.0


@pytest.fixture(scope="module")
def scenario(small_bench_warehouse: BenchWarehouse) -> Scenario:
    """20 users (5 admins, 15 viewers) over the 16 customers in four portfolios."""
    return plan_scenario(small_bench_warehouse, users=20, admins=5, customers=16)


def test_the_scenario_has_admins_and_viewers_each_confined_to_one_portfolio_of_four(
    scenario: Scenario,
) -> None:
    viewers = [user for user in scenario.users if not user.is_admin]
    assert len(scenario.users) == 20 and len(viewers) == 15
    assert {len(user.scope) for user in viewers} == {4}
    assert len({user.portfolio for user in viewers}) == 4
    assert all(user.asks == () for user in viewers)  # a viewer's report is their whole scope


VIEWER = LoadUser("v@load.example", False, (), frozenset({"c_bench_000", "c_bench_004"}), "P1")


def test_an_export_row_of_a_customer_outside_the_viewers_portfolio_is_a_leak() -> None:
    body = b"customer_id,campaign_id\nc_bench_000,a\nc_bench_001,b\n"

    sample = judge_answer("csv", 1.0, VIEWER, customers_in("csv", body))

    assert sample.leak and "c_bench_001" in sample.error and sample.rows_checked == 2


def test_a_page_naming_a_foreign_customer_id_is_a_leak_and_its_own_ids_are_not() -> None:
    mine = b'<tr data-customer-id="c_bench_004"><td>Sklep (c_bench_000)</td></tr>'
    foreign = mine + b'<input name="customer" value="c_bench_003">'

    assert not judge_answer("report", 1.0, VIEWER, customers_in("report", mine)).error
    assert judge_answer("board", 1.0, VIEWER, customers_in("board", foreign)).leak


def test_an_empty_export_is_an_error_not_a_pass() -> None:
    sample = judge_answer("csv", 1.0, VIEWER, customers_in("csv", b"customer_id\n"))

    assert sample.error and not sample.leak


@pytest.mark.slow
def test_twenty_users_for_15_s_use_every_kind_without_error_or_foreign_customer_p95_recorded(
    small_bench_warehouse: BenchWarehouse, scenario: Scenario, tmp_path: Path
) -> None:
    # One run for every assertion: under pytest-xdist, separate tests could each pay for one.
    with load_portal(tmp_path, small_bench_warehouse, scenario, cheap_passwords=True) as url:
        load = run_portal_load(url, scenario, seconds=SECONDS, seed=6)
    summary = load.summary()
    viewers = {user.email for user in load.users if not user.is_admin}
    viewer_samples = [sample for sample in load.samples if sample.user in viewers]

    assert load.errors == [] and load.seconds >= SECONDS
    assert {kind: len(load.of(kind)) > 0 for kind in KINDS} == dict.fromkeys(KINDS, True)
    assert not [sample for sample in load.samples if sample.leak]
    # Not vacuous: viewers used every kind, and their exports' rows were each checked.
    assert {sample.kind for sample in viewer_samples} == set(KINDS)
    assert sum(sample.rows_checked for sample in viewer_samples) > 0
    for kind in KINDS:  # recorded, not judged: the machine is shared
        assert summary["kinds"][kind]["p95_ms"] > 0, kind
    assert summary["p95_ms"] >= summary["p50_ms"] > 0
