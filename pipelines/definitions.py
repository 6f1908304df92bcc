"""The one place the Dagster definitions are assembled (``workspace.yaml`` points here)."""

from __future__ import annotations

import warnings

import dagster as dg

from pipelines.assets import ASSET_NAME, build_ad_daily_stats
from pipelines.partitions import daily_partitions
from pipelines.resources import PIPELINE_SECRETS, build_resources
from pipelines.schedules import build_daily_schedule
from pipelines.sensors import build_new_customer_sensor
from settings.config import load_settings

# Single-run backfills are the point of this design; Dagster still labels the parameter beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


def build_definitions() -> dg.Definitions:
    """Assets, job, schedule, sensor and resources from the ``ALLEGRO_ADS_*`` settings."""
    settings = load_settings(PIPELINE_SECRETS)
    partitions = daily_partitions(settings.history_days)
    ad_daily_stats = build_ad_daily_stats(partitions)
    stats_job = dg.define_asset_job(
        "ad_stats_job",
        selection=dg.AssetSelection.assets(ASSET_NAME),
        description="Fetch and load ad statistics for a date range (one run per range).",
    )
    return dg.Definitions(
        assets=[ad_daily_stats],
        jobs=[stats_job],
        schedules=[
            build_daily_schedule(stats_job.name, settings.schedule_cron, settings.lookback_days)
        ],
        sensors=[build_new_customer_sensor(stats_job.name, settings.history_days)],
        resources=build_resources(settings),
    )


defs = build_definitions()
