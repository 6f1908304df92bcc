"""Dagster resources: Allegro, the warehouse and the control store, wired from the environment.

Secrets are ``dg.EnvVar`` when the environment sets them, so the UI shows the variable's name,
never its value; with nothing set the demo's development defaults apply.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg
from pydantic import Field

from allegro_resource.resource import AllegroResource
from control_store import customers
from control_store.token_store import TokenStatus
from services.control import Control, open_control
from services.stats_sync import CustomerTarget
from settings.config import Settings, load_settings
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The reporting warehouse: a DuckDB file or a PostgreSQL database, by URL."""

    url: str = Field(description="duckdb:///path/file.duckdb or postgresql://…")

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
    refresh_margin_seconds: int = Field(600, ge=0)

    def open(self) -> Control:
        """An open control store; refuses an out-of-date schema."""
        settings = Settings(
            control_url=self.url,
            token_keys=self.token_keys,
            refresh_margin_seconds=self.refresh_margin_seconds,
        )
        return open_control(settings)


def reportable_customers(control: Control, only: Sequence[str] = ()) -> list[CustomerTarget]:
    """Active customers that have ever connected (those needing re-auth included, so they show
    up as failures), optionally limited to ``only`` (ids or names)."""
    wanted = {customers.find_customer(control.engine, name).id for name in only}
    statuses = {info.customer_id: info.status for info in control.tokens.list_info()}
    targets = []
    for customer in customers.list_customers(control.engine):
        if not customer.active or customer.id not in statuses or not customer.ads_client_id:
            continue
        if wanted and customer.id not in wanted:
            continue
        if statuses[customer.id] == TokenStatus.REVOKED:
            continue
        targets.append(
            CustomerTarget(customer.id, customer.name, customer.ads_client_id, customer.currency)
        )
    return targets


def _secret(name: str, default: str) -> str:
    return dg.EnvVar(name) if os.environ.get(name) else default  # type: ignore[return-value]


def build_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:  # type: ignore[type-arg]
    """The resources every definition uses, from ``ALLEGRO_ADS_*`` settings."""
    settings = settings or load_settings()
    return {
        "allegro": AllegroResource(
            api_url=settings.api_url,
            auth_url=settings.auth_url,
            client_id=_secret("ALLEGRO_ADS_CLIENT_ID", settings.client_id),
            client_secret=_secret("ALLEGRO_ADS_CLIENT_SECRET", settings.client_secret),
            redirect_uri=settings.redirect_uri,
            timeout_seconds=settings.http_timeout_seconds,
            max_attempts=settings.max_attempts,
            max_retry_seconds=settings.max_retry_seconds,
            max_range_days=settings.max_range_days,
            history_days=settings.history_days,
            concurrency=settings.fetch_concurrency,
        ),
        "warehouse": WarehouseResource(url=settings.resolved_warehouse_url),
        "control": ControlStoreResource(
            url=settings.resolved_control_url,
            token_keys=_secret("ALLEGRO_ADS_TOKEN_KEYS", ""),
            refresh_margin_seconds=settings.refresh_margin_seconds,
        ),
    }
