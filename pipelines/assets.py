"""The ``ad_daily_stats`` asset: every connected customer's daily ad statistics."""

# No `from __future__ import annotations`: Dagster reads the parameter annotations at run time.
import time
from contextlib import closing
from datetime import date, timedelta

import dagster as dg

from allegro_resource.resource import AllegroResource
from allegro_resource.windows import oldest_served_day, reporting_today
from control_store.api_call_log import ControlStoreCallLog
from pipelines import checks
from pipelines.config import StatsRunConfig
from pipelines.metadata import run_metadata
from pipelines.resources import ControlStoreResource, WarehouseResource, reportable_customers
from services.clients import token_manager
from services.stats_sync import CustomerOutcome, sync_statistics

ASSET_NAME = "ad_daily_stats"
WRITER_POOL = "warehouse_writer"


def partition_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The run's first and last day (inclusive), in Allegro's reporting time zone."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def build_ad_daily_stats(partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    """The asset over the given daily partitions (single-run backfills)."""

    @dg.asset(
        name=ASSET_NAME,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WRITER_POOL,
        group_name="allegro_ads",
        kinds={"python", "sql"},
        check_specs=checks.check_specs(ASSET_NAME),
        owners=["team:data-engineering"],
    )
    def ad_daily_stats(
        context: dg.AssetExecutionContext,
        config: StatsRunConfig,
        allegro: AllegroResource,
        warehouse: WarehouseResource,
        control: ControlStoreResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Daily statistics of every ad of every connected customer (warehouse table
        `ad_daily_stats`, one row per customer, ad and day; Europe/Warsaw days).

        One run covers a whole date range: each customer is fetched in the widest windows the
        API allows, customers concurrently, and each customer's slice replaces the stored one in
        a short transaction. A customer that fails (consent withdrawn, malformed answer) is
        named in the `every_connected_customer_loaded` check with the fix; the others are
        committed. Re-run one customer by setting `customers: [ID]` in the launchpad.
        """
        start, end = partition_dates(context)
        today = reporting_today()
        floor = oldest_served_day(today, allegro.history_days)
        if start < floor:
            context.log.warning(f"days before {floor} are no longer served; starting there")
            start = floor
        started = time.monotonic()
        with control.open() as ctl, warehouse.open() as wh:
            targets = reportable_customers(ctl, config.customers)
            context.log.info(f"fetching {start}..{end} for {len(targets)} customer(s)")
            with (
                ControlStoreCallLog(ctl.engine) as db_log,
                # Refreshes land in the API log with the run's id, as the portal's do.
                closing(allegro.oauth(db_log, run_id=context.run.run_id)) as oauth,
            ):
                client = allegro.ads_client(
                    token_manager(ctl, oauth),
                    db_log,
                    run_id=context.run.run_id,
                )
                done = 0

                def progress(outcome: CustomerOutcome) -> None:
                    nonlocal done
                    done += 1
                    state = "ok" if outcome.ok else f"FAILED: {outcome.error}"
                    context.log.info(
                        f"[{done}/{len(targets)}] {outcome.name}: {outcome.rows} rows, {state}"
                    )

                with client:
                    report = sync_statistics(
                        client,
                        wh,
                        targets,
                        start,
                        end,
                        run_id=context.run.run_id,
                        on_progress=progress,
                    )
            metadata = run_metadata(report, time.monotonic() - started)
            if targets and not report.loaded:
                raise dg.Failure(
                    description="no customer could be loaded; see per_customer for each error",
                    metadata=metadata,
                )
            results = checks.evaluate(
                wh, report, [t.customer_id for t in targets], checks.yesterday_of(today)
            )
        return dg.MaterializeResult(metadata=metadata, check_results=results)

    return ad_daily_stats
