"""Everything about talking to Allegro: OAuth, the Ads client, its models and errors.

``AllegroResource`` (the Dagster resource) is imported lazily, so the web app and the CLI
do not pay for importing Dagster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allegro_resource.ads_client import (
    STATISTICS_PATH,
    AllegroAdsClient,
    StatsJob,
    StatsResult,
)
from allegro_resource.calllog import (
    ApiCall,
    CallLogSink,
    FanOutCallLog,
    MemoryCallLog,
    NullCallLog,
)
from allegro_resource.errors import (
    AllegroError,
    AllegroUnavailable,
    ApiError,
    DateRangeError,
    Forbidden,
    InvalidClient,
    InvalidGrant,
    MalformedResponse,
    NeedsReauthorization,
    NotFound,
    OAuthError,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from allegro_resource.models import (
    AdsClient,
    AdType,
    Campaign,
    Me,
    StatRow,
    TokenSet,
)
from allegro_resource.oauth import DeviceAuthorization, OAuthClient, Pkce, new_pkce
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.token_provider import TokenProvider
from allegro_resource.transport import RetryPolicy, Transport

if TYPE_CHECKING:
    from allegro_resource.resource import AllegroResource

__all__ = [
    "STATISTICS_PATH",
    "AdType",
    "AdsClient",
    "AllegroAdsClient",
    "AllegroError",
    "AllegroResource",
    "AllegroUnavailable",
    "ApiCall",
    "ApiError",
    "CallLogSink",
    "Campaign",
    "DateRangeError",
    "DeviceAuthorization",
    "FanOutCallLog",
    "Forbidden",
    "InvalidClient",
    "InvalidGrant",
    "MalformedResponse",
    "Me",
    "MemoryCallLog",
    "NeedsReauthorization",
    "NotFound",
    "NullCallLog",
    "OAuthClient",
    "OAuthError",
    "Pkce",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "StatRow",
    "StaticTokenProvider",
    "StatsJob",
    "StatsResult",
    "TokenProvider",
    "TokenSet",
    "Transport",
    "Unauthorized",
    "ValidationFailed",
    "new_pkce",
]


def __getattr__(name: str) -> Any:
    if name == "AllegroResource":
        from allegro_resource.resource import AllegroResource

        return AllegroResource
    raise AttributeError(f"module 'allegro_resource' has no attribute {name!r}")
