"""Fixtures of the alert tests (see ``fixtures.py``)."""

from tests.alerts.fixtures import world
