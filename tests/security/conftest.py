"""Fixtures of the security tests: the portal stack and the onboarding stack of tests/portal
and tests/authorize_app, reused (imported from their ``fixtures.py``), plus the
whole WSGI app for requests that need a chosen client address, Host header or raw body.

The portal stack here is this folder's own (built once per session): tests may add to it
but never take away what they did not create themselves.
"""

from __future__ import annotations

import pytest

from authorize_app.app import create_app
from tests.authorize_app.fixtures import http, onboarding  # fixtures, registered by import
from tests.portal.fixtures import (  # fixtures, registered by import
    admin_http,
    anon_http,
    cheap_password_hashing,
    portal,
    viewer_http,
)
from tests.portal.portal_helpers import PortalStack
from tests.security.security_helpers import WSGIApp


@pytest.fixture(scope="session")
def web_app(portal: PortalStack) -> WSGIApp:
    """The whole web app (consent flow, portal, static files) over the portal stack's
    stores, called in-process: the test chooses REMOTE_ADDR, Host and the raw body."""
    return create_app(portal.settings)
