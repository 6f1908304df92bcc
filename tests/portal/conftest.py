"""The portal tests' fixtures (``fixtures.py``; tests/security reuses them) and Chromium."""

from __future__ import annotations

from tests.authorize_app.fixtures import (  # fixtures, registered by import
    chromium,
    page,
)
from tests.portal.fixtures import (  # fixtures, registered by import
    admin_http,
    anon_http,
    cheap_password_hashing,
    portal,
    portal_app,
    viewer_http,
)
