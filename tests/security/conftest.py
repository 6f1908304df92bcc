"""Fixtures of the security tests: the portal stack and the onboarding stack of tests/portal
and tests/authorize_app, reused (their conftest modules loaded under other names), plus the
whole WSGI app for requests that need a chosen client address, Host header or raw body.

The portal stack here is this folder's own (built once per session): tests may add to it
but never take away what they did not create themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parents[1]
for _folder in ("portal", "authorize_app"):  # their helpers are imported, not copied
    if str(_TESTS / _folder) not in sys.path:
        sys.path.insert(0, str(_TESTS / _folder))

from module_loading import load_module  # noqa: E402
from portal_helpers import PortalStack  # noqa: E402
from security_helpers import WSGIApp  # noqa: E402

from authorize_app.app import create_app  # noqa: E402

_portal = load_module("security_portal_conftest", _TESTS / "portal" / "conftest.py")
cheap_password_hashing = _portal.cheap_password_hashing
portal = _portal.portal
admin_http = _portal.admin_http
viewer_http = _portal.viewer_http
anon_http = _portal.anon_http
onboarding = _portal._onboarding.onboarding
http = _portal._onboarding.http


@pytest.fixture(scope="session")
def web_app(portal: PortalStack) -> WSGIApp:
    """The whole web app (consent flow, portal, static files) over the portal stack's
    stores, called in-process: the test chooses REMOTE_ADDR, Host and the raw body."""
    return create_app(portal.settings)
