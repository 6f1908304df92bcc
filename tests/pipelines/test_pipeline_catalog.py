"""The Dagster catalog of the warehouse assets, as the UI reads it over GraphQL: the columns
analysts query (names, types, meanings), how many rows each table holds after a run, and the
statistics' freshness policy, which the daemon evaluates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.definitions.freshness import CronFreshnessPolicy
from dagster._core.test_utils import freeze_time

from pipelines.freshness import RUN_ALLOWANCE, statistics_freshness_policy
from settings.config import load_settings
from testing.pipeline_agency import BACKENDS, Agency, days_back
from tests.pipelines.catalog_helpers import (
    catalog,
    entries,
    evaluate_freshness,
    product_workspace,
    schedule,
)
from warehouse.backends import open_warehouse

# Each warehouse asset and the table it writes.
WAREHOUSE_ASSETS = {"ad_daily_stats": "ad_daily_stats", "offers": "offers"}


def stored_columns(table: str) -> list[tuple[str, bool]]:
    """(name, nullable) of each column of ``table`` in the warehouse itself, in table order."""
    with open_warehouse(load_settings().resolved_warehouse_url) as wh:
        found = wh.read(
            "SELECT column_name, is_nullable FROM information_schema.columns "
            "WHERE table_name = $table ORDER BY ordinal_position",
            {"table": table},
        )
    return [(row["column_name"], row["is_nullable"] == "YES") for row in found.to_pylist()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_catalog_lists_each_warehouse_tables_columns_as_the_warehouse_holds_them(
    stores: None, instance: dg.DagsterInstance
) -> None:
    with product_workspace(instance) as workspace:
        nodes = catalog(workspace)

    for asset, table in WAREHOUSE_ASSETS.items():
        metadata = entries(nodes[asset]["metadataEntries"])
        assert metadata["dagster/table_name"]["text"] == table
        columns = metadata["dagster/column_schema"]["schema"]["columns"]
        shown = [(c["name"], c["constraints"]["nullable"]) for c in columns]
        assert shown == stored_columns(table), asset
        undescribed = [c["name"] for c in columns if not (c["type"] and c["description"])]
        assert undescribed == [], f"{asset}: columns without a type or a meaning"


def test_after_the_daily_run_the_catalog_shows_each_warehouse_tables_row_count(
    agency: Agency,
) -> None:
    assert agency.run_daily(*days_back(2)).success

    with product_workspace(agency.instance) as workspace:
        nodes = catalog(workspace)

    for asset, table in WAREHOUSE_ASSETS.items():
        (latest,) = nodes[asset]["assetMaterializations"]
        metadata = entries(latest["metadataEntries"])
        with agency.warehouse() as wh:
            counted = wh.read(f"SELECT COUNT(*) AS n FROM {table}").column("n")[0].as_py()  # noqa: S608
        assert counted > 0, f"the run left {table} empty"
        assert metadata["dagster/row_count"]["intValue"] == counted, asset
        assert metadata["dagster/storage_kind"]["text"] == "duckdb"


def test_the_statistics_freshness_policy_in_the_catalog_follows_the_daily_schedule(
    instance: dg.DagsterInstance,
) -> None:
    with product_workspace(instance) as workspace:
        nodes = catalog(workspace)
        cron, timezone = schedule(workspace, "daily_ad_stats")

    expected = statistics_freshness_policy(cron, tz=timezone)
    assert isinstance(expected, CronFreshnessPolicy)
    assert nodes["ad_daily_stats"]["internalFreshnessPolicy"] == {
        "__typename": "CronFreshnessPolicy",
        "deadlineCron": expected.deadline_cron,
        "lowerBoundDeltaSeconds": 24 * 3600,
        "timezone": timezone,
    }
    assert nodes["offers"]["internalFreshnessPolicy"] is None


def test_a_daily_schedule_gives_a_deadline_three_hours_after_its_start_in_its_time_zone() -> None:
    policy = statistics_freshness_policy("0 6 * * *", tz="Europe/Warsaw")

    assert policy == dg.FreshnessPolicy.cron(
        deadline_cron="0 9 * * *", lower_bound_delta=timedelta(days=1), timezone="Europe/Warsaw"
    )


def test_a_late_evening_schedule_has_its_deadline_after_midnight() -> None:
    policy = statistics_freshness_policy("30 22 * * *", tz="Europe/Warsaw")

    assert isinstance(policy, CronFreshnessPolicy)
    assert policy.deadline_cron == "30 1 * * *"


@pytest.mark.parametrize("cron", ["* * * * *", "0 6 * * 1-5", "0 */6 * * *"])
def test_a_schedule_that_is_not_once_a_day_asks_for_a_load_within_a_day_and_the_allowance(
    cron: str,
) -> None:
    policy = statistics_freshness_policy(cron, tz="Europe/Warsaw")

    assert policy == dg.FreshnessPolicy.time_window(fail_window=timedelta(days=1) + RUN_ALLOWANCE)


def test_the_daemon_marks_the_statistics_fresh_after_a_run_and_degraded_once_a_deadline_passes(
    agency: Agency,
) -> None:
    with product_workspace(agency.instance) as workspace:
        evaluate_freshness(workspace)
        never_loaded = catalog(workspace)["ad_daily_stats"]["freshnessStatusInfo"]
        assert agency.run(*days_back(2)).success

        evaluate_freshness(workspace)
        after_run = catalog(workspace)["ad_daily_stats"]["freshnessStatusInfo"]
        # Two days on without another load: at least one deadline passed since the run.
        with freeze_time(datetime.now(UTC) + timedelta(days=2)):
            evaluate_freshness(workspace)
        late = catalog(workspace)["ad_daily_stats"]["freshnessStatusInfo"]

    assert never_loaded == {"freshnessStatus": "UNKNOWN"}
    assert after_run == {"freshnessStatus": "HEALTHY"}
    assert late == {"freshnessStatus": "DEGRADED"}
