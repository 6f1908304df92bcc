"""The Dagster resource that wires the OAuth and Ads clients from configuration.

Set the secrets with ``dg.EnvVar`` so Dagster reads them at run time and never shows them::

    AllegroResource(
        api_url="https://api.allegro.pl",
        auth_url="https://allegro.pl",
        client_id=dg.EnvVar("ALLEGRO_ADS_CLIENT_ID"),
        client_secret=dg.EnvVar("ALLEGRO_ADS_CLIENT_SECRET"),
        redirect_uri="https://ads.example.com/oauth/callback",
    )
"""

from __future__ import annotations

from dataclasses import fields

import dagster as dg
from pydantic import Field

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.calllog import CallLogSink
from allegro_resource.client_config import ClientConfig
from allegro_resource.oauth import OAuthClient
from allegro_resource.token_provider import TokenProvider
from settings import defaults


class AllegroResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Allegro's OAuth and Ads API for one registered application."""

    api_url: str = Field(description="REST API base, e.g. https://api.allegro.pl")
    auth_url: str = Field(description="OAuth base, e.g. https://allegro.pl")
    client_id: str = Field(description="The application's client id (use dg.EnvVar)")
    client_secret: str = Field(description="The application's client secret (use dg.EnvVar)")
    redirect_uri: str = Field(description="The redirect URI registered for the application")
    timeout_seconds: float = Field(
        defaults.HTTP_TIMEOUT_SECONDS, gt=0, description="Timeout of one HTTP attempt"
    )
    max_attempts: int = Field(
        defaults.MAX_ATTEMPTS, ge=1, description="Attempts per request, retries included"
    )
    max_retry_seconds: float = Field(
        defaults.MAX_RETRY_SECONDS, gt=0, description="Total retry budget per request"
    )
    max_range_days: int = Field(defaults.MAX_RANGE_DAYS, ge=1, description="Longest window")
    history_days: int = Field(defaults.HISTORY_DAYS, ge=1, description="Oldest day served")
    concurrency: int = Field(
        defaults.FETCH_CONCURRENCY, ge=1, le=64, description="Customers fetched at once"
    )
    types_style: defaults.TypesStyle = Field(
        defaults.STATS_TYPES_STYLE, description="Send statistics 'types' repeated or comma-joined"
    )
    rate_limit_block_seconds: float = Field(
        defaults.RATE_LIMIT_BLOCK_SECONDS,
        gt=0,
        description="Wait after a 429 without Retry-After (Allegro blocks for a minute)",
    )
    agency_scope: str = Field(defaults.AGENCY_SCOPE, description="Scope the agency account grants")
    sales_scope: str = Field(defaults.SALES_SCOPE, description="Scope a sales account grants")
    reporting_timezone: str = Field(
        defaults.REPORTING_TIMEZONE,
        description="Time zone of Allegro's days: today is never served, yesterday is the newest",
    )

    def client_config(self) -> ClientConfig:
        """This resource's configuration, from which every client is built (the resource's
        fields are ``ClientConfig``'s, named alike)."""
        return ClientConfig(**{f.name: getattr(self, f.name) for f in fields(ClientConfig)})

    def oauth(self, call_log: CallLogSink | None = None, run_id: str | None = None) -> OAuthClient:
        """An OAuth client for consent, code exchange and refresh; its calls go to
        ``call_log`` marked with ``run_id``."""
        return self.client_config().oauth(call_log, run_id=run_id)

    def ads_client(
        self,
        tokens: TokenProvider,
        call_log: CallLogSink | None = None,
        run_id: str | None = None,
    ) -> AllegroAdsClient:
        """An Ads API client that takes its tokens from ``tokens``."""
        return self.client_config().ads_client(tokens, call_log, run_id=run_id)
