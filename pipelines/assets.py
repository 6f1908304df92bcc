"""The ``ad_daily_stats`` asset: every linked customer's daily ad statistics, read with its
agency account's token (after ``agency_clients`` has listed the agency's clients)."""

# No `from __future__ import annotations`: Dagster reads the parameter annotations at run time.
import time
from datetime import date, timedelta

import dagster as dg

from allegro_resource.resource import AllegroResource
from allegro_resource.windows import oldest_served_day, reporting_today
from pipelines import checks
from pipelines.catalog import table_definition_metadata, table_materialization_metadata
from pipelines.config import StatsRunConfig
from pipelines.discovery_asset import AGENCY_CLIENTS
from pipelines.metadata import per_customer_metadata, run_metadata
from pipelines.resources import (
    ControlStoreResource,
    WarehouseResource,
    allegro_client,
    reportable_customers,
)
from pipelines.run_heap import startup_objects_frozen
from services.stats_sync import CustomerOutcome, sync_statistics
from warehouse.catalog import FACTS_TABLE

ASSET_NAME = "ad_daily_stats"
WRITER_POOL = "warehouse_writer"


def partition_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The run's first and last day (inclusive), in Allegro's reporting time zone."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def build_ad_daily_stats(
    partitions: dg.DailyPartitionsDefinition, freshness: dg.FreshnessPolicy
) -> dg.AssetsDefinition:
    """The asset over the given daily partitions (single-run backfills), held to ``freshness``
    (``pipelines.freshness``: the daily schedule's)."""

    @dg.asset(
        name=ASSET_NAME,
        partitions_def=partitions,
        deps=[AGENCY_CLIENTS],
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WRITER_POOL,
        group_name="allegro_ads",
        kinds={"python", "sql"},
        check_specs=checks.check_specs(ASSET_NAME),
        owners=["team:data-engineering"],
        freshness_policy=freshness,
        metadata=table_definition_metadata(FACTS_TABLE),
    )
    def ad_daily_stats(
        context: dg.AssetExecutionContext,
        config: StatsRunConfig,
        allegro: AllegroResource,
        warehouse: WarehouseResource,
        control: ControlStoreResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Daily statistics of every ad of every linked customer (warehouse table
        `ad_daily_stats`, one row per customer, ad and day; days of the reporting time zone).

        Each customer linked to an agency client is read with its agency account's token. One
        run covers a whole date range: each customer is fetched in the widest windows the API
        allows, customers concurrently, and each customer's slice replaces the stored one in a
        short transaction. A customer that fails (agency connection broken, client removed from
        the agency, malformed answer) is named in the `every_linked_customer_loaded` check with
        the fix; the others are committed. Re-run one customer by setting `customers: [ID]` in
        the launchpad.
        """
        start, end = partition_dates(context)
        today = reporting_today(tz=allegro.reporting_timezone)
        floor = oldest_served_day(today, allegro.history_days)
        if start < floor:
            context.log.warning(f"days before {floor} are no longer served; starting there")
            start = floor
        started = time.monotonic()
        run_id = context.run.run_id
        with startup_objects_frozen(), control.open() as ctl, warehouse.open() as wh:
            selection = reportable_customers(ctl, config.customers)
            total = len(selection.customer_ids)
            context.log.info(
                f"fetching {start}..{end} for {len(selection.targets)} customer(s); "
                f"{len(selection.blocked)} cannot be read now"
            )
            done = 0

            def progress(outcome: CustomerOutcome) -> None:
                nonlocal done
                done += 1
                state = "ok" if outcome.ok else f"FAILED: {outcome.error}"
                context.log.info(f"[{done}/{total}] {outcome.name}: {outcome.rows} rows, {state}")

            with allegro_client(allegro, ctl, run_id) as client:
                report = sync_statistics(
                    client,
                    wh,
                    selection.targets,
                    start,
                    end,
                    run_id=run_id,
                    on_progress=progress,
                    blocked=selection.blocked,
                )
            metadata = run_metadata(report, time.monotonic() - started)
            metadata |= table_materialization_metadata(wh, FACTS_TABLE)
            per_customer = per_customer_metadata(report)
            if selection.targets and not report.loaded:
                raise dg.Failure(
                    description="no customer could be loaded; see per_customer for each error",
                    metadata=metadata | per_customer,
                )
            # On the range's last day only: a backfill records a materialisation per day, and
            # 730 copies of the table cost the run more than the table is worth on each day.
            context.add_asset_metadata(per_customer, partition_key=context.partition_key_range.end)
            results = checks.evaluate(
                wh,
                report,
                selection.customer_ids,
                checks.yesterday_of(today),
                api_ratio_units=warehouse.api_ratio_units,
            )
        return dg.MaterializeResult(metadata=metadata, check_results=results)

    return ad_daily_stats
