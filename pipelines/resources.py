"""Dagster resources: Allegro, the warehouse and the control store, wired from the environment.

Secrets are ``dg.EnvVar`` when the environment sets them, so the UI shows the variable's name,
never its value; with nothing set the demo's development defaults apply. Each resource works
from its own fields only: a run reads no setting its resources were not given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict

import dagster as dg
from pydantic import Field

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.resource import AllegroResource
from control_store.api_call_log import ControlStoreCallLog
from pipelines.alerts_resource import build_alerts_resource
from pipelines.mail_resource import build_mail_resource
from pipelines.reports_resource import build_reports_resource
from services.clients import client_config, token_manager
from services.control import Control, open_control
from services.stats_sync import StatisticsTargets, statistics_targets
from settings import defaults
from settings.config import Secret, Settings, load_settings, settings_from
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The reporting warehouse: a DuckDB file or a PostgreSQL database, by URL."""

    url: str = Field(description="duckdb:///path/file.duckdb or postgresql://…")
    api_ratio_units: defaults.RatioUnits = Field(
        defaults.API_RATIO_UNITS,
        description="Unit of Allegro's ctr and rateOfReturn as stored: fraction or percent "
        "(the ratio check converts before comparing)",
    )

    def open(self) -> Warehouse:
        """A warehouse handle with its schema in place; close it when done."""
        warehouse = open_warehouse(self.url)
        warehouse.ensure_schema()
        return warehouse


class ControlStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The control store: customers, encrypted tokens, the API-call log."""

    url: str = Field(description="sqlite:///path/control.db or postgresql://…")
    token_keys: str = Field(
        "", description="Fernet keys, newest first (dg.EnvVar); empty = development keys"
    )
    data_dir: str = Field("data", description="Where the development keys are kept")
    refresh_margin_seconds: int = Field(defaults.REFRESH_MARGIN_SECONDS, ge=0)
    refresh_token_days: int = Field(defaults.REFRESH_TOKEN_DAYS, ge=1, le=3650)

    def open(self) -> Control:
        """An open control store; refuses an out-of-date schema."""
        settings = settings_from(
            control_url=self.url,
            token_keys=self.token_keys,
            data_dir=self.data_dir,
            refresh_margin_seconds=self.refresh_margin_seconds,
            refresh_token_days=self.refresh_token_days,
        )
        return open_control(settings)


def reportable_customers(control: Control, only: Sequence[str] = ()) -> StatisticsTargets:
    """The customers a statistics run covers: every active customer linked to an agency client
    (or those named in ``only``: ids or names), split into those to fetch and those that fail
    without a call (agency connection broken, client removed; ``statistics_targets``)."""
    return statistics_targets(control, list(only) or None)


@contextmanager
def allegro_client(
    allegro: AllegroResource, control: Control, run_id: str
) -> Iterator[AllegroAdsClient]:
    """The Ads client of one run: tokens from the control store (refreshed under its lock),
    every call and refresh in the API log with the run's id."""
    with (
        ControlStoreCallLog(control.engine) as call_log,
        closing(allegro.oauth(call_log, run_id=run_id)) as oauth,
        allegro.ads_client(token_manager(control, oauth), call_log, run_id=run_id) as client,
    ):
        yield client


def _secret(name: str, default: str) -> str:
    return dg.EnvVar(name) if os.environ.get(name) else default  # type: ignore[return-value]


PIPELINE_SECRETS = frozenset({Secret.CLIENT_ID, Secret.CLIENT_SECRET, Secret.TOKEN_KEYS})
"""What a run uses: the application's credentials to refresh tokens, the keys to decrypt them."""


def build_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:  # type: ignore[type-arg]
    """The resources every definition uses, from ``ALLEGRO_ADS_*`` settings."""
    settings = settings or load_settings(PIPELINE_SECRETS)
    allegro = client_config(settings)
    credentials = {
        "client_id": _secret(Secret.CLIENT_ID.variable, allegro.client_id),
        "client_secret": _secret(Secret.CLIENT_SECRET.variable, allegro.client_secret),
    }
    return {
        "allegro": AllegroResource(**(asdict(allegro) | credentials)),
        "warehouse": WarehouseResource(
            url=settings.resolved_warehouse_url, api_ratio_units=settings.api_ratio_units
        ),
        "control": ControlStoreResource(
            url=settings.resolved_control_url,
            token_keys=_secret(Secret.TOKEN_KEYS.variable, ""),
            data_dir=str(settings.data_dir),
            refresh_margin_seconds=settings.refresh_margin_seconds,
            refresh_token_days=settings.refresh_token_days,
        ),
        "mail": build_mail_resource(settings),
        "alerting": build_alerts_resource(settings),
        "reports": build_reports_resource(settings),
    }
