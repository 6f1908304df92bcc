"""Fixtures for the mail tests: a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.mail_server import MailServer, mail_server


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """An SMTP server on loopback that accepts anything, unauthenticated."""
    with mail_server() as server:
        yield server
