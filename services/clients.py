"""The one place each Allegro client is built from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from allegro_resource.calllog import CallLogSink
from allegro_resource.oauth import OAuthClient
from allegro_resource.token_manager import TokenManager
from services.control import Control
from settings.config import Settings


def oauth_client(
    settings: Settings,
    call_log: CallLogSink | None = None,
    clock: Callable[[], datetime] | None = None,
) -> OAuthClient:
    """The application's OAuth client as configured (``clock``: where time is simulated)."""
    return OAuthClient(
        settings.auth_url,
        settings.client_id,
        settings.client_secret,
        settings.redirect_uri,
        timeout=settings.http_timeout_seconds,
        call_log=call_log,
        clock=clock,
    )


def token_manager(control: Control, oauth: OAuthClient | None = None) -> TokenManager:
    """The persistent ``TokenProvider`` over this control store."""
    return TokenManager(
        control.tokens,
        oauth or oauth_client(control.settings),
        refresh_margin_seconds=control.settings.refresh_margin_seconds,
    )
