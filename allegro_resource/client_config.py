"""How to reach Allegro as one registered application, and the clients built from it.

The one construction of the OAuth and Ads clients: the settings-driven factories
(``services.clients``) and the Dagster resource (``allegro_resource.resource``) both fill a
``ClientConfig`` and ask it for clients, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.calllog import CallLogSink
from allegro_resource.oauth import OAuthClient
from allegro_resource.token_provider import TokenProvider
from settings import defaults


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """One application's endpoints, credentials and HTTP rules (defaults: ``settings.defaults``)."""

    api_url: str
    auth_url: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    timeout_seconds: float
    max_attempts: int
    max_retry_seconds: float
    max_range_days: int
    history_days: int
    concurrency: int
    types_style: defaults.TypesStyle = defaults.STATS_TYPES_STYLE
    rate_limit_block_seconds: float = defaults.RATE_LIMIT_BLOCK_SECONDS
    agency_scope: str = defaults.AGENCY_SCOPE
    sales_scope: str = defaults.SALES_SCOPE
    reporting_timezone: str = defaults.REPORTING_TIMEZONE

    def capped(self, *, max_attempts: int, max_retry_seconds: float | None = None) -> ClientConfig:
        """This configuration retrying at most ``max_attempts`` times within at most
        ``max_retry_seconds``: for callers someone is waiting on."""
        retry_seconds = self.max_retry_seconds
        if max_retry_seconds is not None:
            retry_seconds = min(retry_seconds, max_retry_seconds)
        return replace(
            self,
            max_attempts=min(self.max_attempts, max_attempts),
            max_retry_seconds=retry_seconds,
        )

    def oauth(
        self,
        call_log: CallLogSink | None = None,
        *,
        run_id: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> OAuthClient:
        """An OAuth client for consent, code exchange and refresh; its calls (a refresh
        included) go to ``call_log`` marked with ``run_id``. ``clock``: where time is
        simulated. OAuth keeps its own, shorter retry budget."""
        return OAuthClient(
            self.auth_url,
            self.client_id,
            self.client_secret,
            self.redirect_uri,
            timeout=self.timeout_seconds,
            call_log=call_log,
            run_id=run_id,
            clock=clock,
            agency_scope=self.agency_scope,
            sales_scope=self.sales_scope,
        )

    def ads_client(
        self,
        tokens: TokenProvider,
        call_log: CallLogSink | None = None,
        *,
        run_id: str | None = None,
    ) -> AllegroAdsClient:
        """An API client (agency and seller endpoints) that takes its tokens from ``tokens``."""
        return AllegroAdsClient(
            self.api_url,
            tokens,
            call_log,
            timeout=self.timeout_seconds,
            max_attempts=self.max_attempts,
            max_retry_seconds=self.max_retry_seconds,
            max_range_days=self.max_range_days,
            history_days=self.history_days,
            concurrency=self.concurrency,
            run_id=run_id,
            types_style=self.types_style,
            rate_limit_block_seconds=self.rate_limit_block_seconds,
            reporting_timezone=self.reporting_timezone,
        )
