"""The one place each Allegro client is built from the settings: the portal, the pipeline and
the command line all come here (the Dagster resource fills the same ``ClientConfig``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.calllog import CallLogSink
from allegro_resource.client_config import ClientConfig
from allegro_resource.oauth import OAuthClient
from allegro_resource.token_manager import TokenManager
from allegro_resource.token_provider import TokenProvider
from services.control import Control
from settings.config import Secret, Settings


def client_config(settings: Settings) -> ClientConfig:
    """How to reach Allegro as the configured application (in production, not the demo's)."""
    settings.require([Secret.CLIENT_ID, Secret.CLIENT_SECRET])
    return ClientConfig(
        api_url=settings.api_url,
        auth_url=settings.auth_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        redirect_uri=settings.redirect_uri,
        timeout_seconds=settings.http_timeout_seconds,
        max_attempts=settings.max_attempts,
        max_retry_seconds=settings.max_retry_seconds,
        max_range_days=settings.max_range_days,
        history_days=settings.history_days,
        concurrency=settings.fetch_concurrency,
        types_style=settings.stats_types_style,
        rate_limit_block_seconds=settings.rate_limit_block_seconds,
        agency_scope=settings.agency_scope,
        sales_scope=settings.sales_scope,
        reporting_timezone=settings.reporting_timezone,
    )


def oauth_client(
    settings: Settings,
    call_log: CallLogSink | None = None,
    clock: Callable[[], datetime] | None = None,
    *,
    run_id: str | None = None,
) -> OAuthClient:
    """The application's OAuth client as configured (``clock``: where time is simulated)."""
    return client_config(settings).oauth(call_log, run_id=run_id, clock=clock)


def ads_client(
    settings: Settings,
    tokens: TokenProvider,
    call_log: CallLogSink | None = None,
    *,
    run_id: str | None = None,
) -> AllegroAdsClient:
    """The Ads API client as configured, taking its tokens from ``tokens``."""
    return client_config(settings).ads_client(tokens, call_log, run_id=run_id)


def token_manager(control: Control, oauth: OAuthClient | None = None) -> TokenManager:
    """The persistent ``TokenProvider`` over this control store (``oauth``: the client that
    refreshes, e.g. one whose calls are logged; by default one built from the settings)."""
    return TokenManager(
        control.tokens,
        oauth or oauth_client(control.settings),
        refresh_margin_seconds=control.settings.refresh_margin_seconds,
    )
