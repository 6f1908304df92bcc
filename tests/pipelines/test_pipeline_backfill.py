"""Backfills, re-runs and the daily schedule end to end, on DuckDB and on PostgreSQL.

The PostgreSQL variant keeps the warehouse, the control store and Dagster's run, event-log and
schedule storage there.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from allegro_resource.windows import reporting_today
from pipelines.partitions import lookback_range
from testing.pipeline_agency import BACKENDS, Agency, days_back, warsaw_morning

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

BACKFILL_DAYS = 60  # two API windows (31 days at most each) per customer
RERUN_DAYS = 30  # longer than the lookback, so some days must stay untouched
LOOKBACK_DAYS = 14  # the settings' default, which the schedule uses


def test_a_backfill_run_leaves_the_warehouse_equal_to_the_simulators_truth(
    agency: Agency,
) -> None:
    start, end = days_back(BACKFILL_DAYS)

    result = agency.run(start, end)

    assert result.success
    ad_types: set[str] = set()
    for customer in agency.customers:
        truth = agency.truth(customer, start, end)
        assert truth, f"{customer.name} should have statistics in {start}..{end}"
        assert agency.stored(customer, start, end) == truth, customer.name
        ad_types |= {ad_type for ad_type, _, _ in truth}
    assert ad_types == {"SPONSORED_OFFER", "GRAPHIC_AD"}, "both ad types, every metric compared"


def test_running_the_same_range_again_changes_nothing_and_adds_no_duplicates(
    agency: Agency,
) -> None:
    start, end = days_back(RERUN_DAYS)
    agency.run(start, end)
    rows_before = agency.row_count()
    before = {c.customer_id: agency.stored(c, start, end) for c in agency.customers}

    again = agency.run(start, end)

    assert again.success
    assert agency.row_count() == rows_before
    assert {c.customer_id: agency.stored(c, start, end) for c in agency.customers} == before


def test_the_daily_schedule_run_repairs_revised_days_and_leaves_older_days_untouched(
    agency: Agency,
) -> None:
    start, end = days_back(RERUN_DAYS)
    agency.run(start, end)
    first_revisable, _ = lookback_range(LOOKBACK_DAYS)
    older_end = first_revisable - timedelta(days=1)
    older = {
        c.customer_id: agency.stored_with_lineage(c, start, older_end) for c in agency.customers
    }
    agency.simulator.revise()
    assert any(
        agency.stored(c, first_revisable, end) != agency.truth(c, first_revisable, end)
        for c in agency.customers
    ), "the revision should change some recent day"

    schedule = agency.definitions().resolve_schedule_def("daily_ad_stats")
    context = dg.build_schedule_context(
        instance=agency.instance, scheduled_execution_time=warsaw_morning(reporting_today())
    )
    requests = schedule.evaluate_tick(context).run_requests or []
    assert len(requests) == 1
    result = agency.execute(requests[0].tags, run_config=requests[0].run_config)

    assert result.success
    for customer in agency.customers:
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)
        after = agency.stored_with_lineage(customer, start, older_end)
        assert after == older[customer.customer_id], "a day older than the lookback changed"


def test_a_backfill_records_every_day_with_the_run_totals_and_the_per_customer_table_once(
    agency: Agency,
) -> None:
    start, end = days_back(5)

    result = agency.run(start, end)

    materializations = result.asset_materializations_for_node("ad_daily_stats")
    days = [str(m.partition) for m in materializations]
    assert sorted(days) == [str(start + timedelta(days=n)) for n in range(5)]
    assert all(
        m.metadata["customers_loaded"].value == len(agency.customers) for m in materializations
    )
    with_table = [m.partition for m in materializations if "per_customer" in m.metadata]
    assert with_table == [str(end)]
    table = str(materializations[-1].metadata["per_customer"].value)
    assert all(c.customer_id in table for c in agency.customers)
