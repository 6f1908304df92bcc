"""The one place the Dagster definitions are assembled (``workspace.yaml`` points here)."""

from __future__ import annotations

import warnings

import dagster as dg

from pipelines.alert_sensors import build_alert_sensors
from pipelines.assets import ASSET_NAME, build_ad_daily_stats
from pipelines.discovery_asset import AGENCY_CLIENTS, agency_clients
from pipelines.event_storage import enable_batched_event_writes
from pipelines.freshness import statistics_freshness_policy
from pipelines.offers_asset import OFFERS, offers
from pipelines.partitions import daily_partitions
from pipelines.report_jobs import build_report_schedules, build_reports_job
from pipelines.resources import PIPELINE_SECRETS, build_resources
from pipelines.schedules import build_daily_schedule
from pipelines.sensors import build_new_customer_sensor
from settings.config import load_settings

STATS_JOB = "ad_stats_job"
DAILY_JOB = "daily_job"

# Single-run backfills are the point of this design; Dagster still labels the parameter beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
# A run worker loads these definitions: its per-partition asset events go to storage in batches.
enable_batched_event_writes()


def build_definitions() -> dg.Definitions:
    """Assets, jobs, schedule, sensor and resources from the ``ALLEGRO_ADS_*`` settings.

    ``ad_stats_job``: the statistics of a date range alone (backfills, repairs of named
    customers, the sensor's history runs). ``daily_job``: what the schedule runs each day, in
    dependency order: ``agency_clients`` → ``ad_daily_stats`` (the lookback window) → ``offers``.
    """
    settings = load_settings(PIPELINE_SECRETS)
    tz = settings.reporting_timezone
    partitions = daily_partitions(settings.history_days, tz=tz)
    ad_daily_stats = build_ad_daily_stats(
        partitions, statistics_freshness_policy(settings.schedule_cron, tz=tz)
    )
    stats_job = dg.define_asset_job(
        STATS_JOB,
        selection=dg.AssetSelection.assets(ASSET_NAME),
        description="Fetch and load ad statistics for a date range (one run per range).",
    )
    daily_job = dg.define_asset_job(
        DAILY_JOB,
        selection=dg.AssetSelection.assets(AGENCY_CLIENTS, ASSET_NAME, OFFERS),
        description="List the agency clients, load the statistics of a date range, refresh the "
        "offers behind the ads (one run).",
    )
    return dg.Definitions(
        assets=[agency_clients, ad_daily_stats, offers],
        jobs=[stats_job, daily_job, build_reports_job(tz)],
        schedules=[
            build_daily_schedule(
                daily_job.name, settings.schedule_cron, settings.lookback_days, tz=tz
            ),
            *build_report_schedules(tz),
        ],
        sensors=[
            build_new_customer_sensor(stats_job.name, settings.history_days, tz=tz),
            *build_alert_sensors([stats_job.name, daily_job.name], settings.alert_interval_seconds),
        ],
        resources=build_resources(settings),
    )


defs = build_definitions()
