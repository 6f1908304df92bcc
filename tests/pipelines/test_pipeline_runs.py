"""A backfill is one run: the partition range travels as run tags, not as one run per day."""

from __future__ import annotations

from datetime import timedelta

from testing.pipeline_agency import ASSET_KEY, Agency, days_back

BACKFILL_DAYS = 90


def test_a_90_day_backfill_is_exactly_one_run_that_materialises_all_90_partitions(
    empty_agency: Agency,
) -> None:
    seller = empty_agency.simulator.users()[0]
    empty_agency.connect(seller["login"], seller["name"])
    start, end = days_back(BACKFILL_DAYS)

    result = empty_agency.run(start, end)

    assert result.success
    runs = empty_agency.instance.get_runs()
    assert [run.run_id for run in runs] == [result.run_id]
    every_day = {(start + timedelta(days=i)).isoformat() for i in range(BACKFILL_DAYS)}
    materialized = empty_agency.instance.get_materialized_partitions(ASSET_KEY)
    assert materialized == every_day
