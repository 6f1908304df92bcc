"""The onboarding tests' fixtures (``fixtures.py``; tests/portal and tests/security reuse them)."""

from __future__ import annotations

from tests.authorize_app.fixtures import (  # fixtures, registered by import
    chromium,
    http,
    onboarding,
    page,
)
