"""Freeze the "now" the reporting calendar reads (``allegro_resource.windows``) at one instant,
so a test of "today" / "yesterday" in some time zone is deterministic."""

from __future__ import annotations

from datetime import datetime, tzinfo

import pytest

from allegro_resource import windows


def freeze_reporting_now(monkeypatch: pytest.MonkeyPatch, instant: datetime) -> None:
    """Make ``windows.reporting_today()`` (and everything built on it) see ``instant``."""

    class _Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> _Frozen:
            moment = instant.astimezone(tz)
            return cls.fromtimestamp(moment.timestamp(), moment.tzinfo)

    monkeypatch.setattr(windows, "datetime", _Frozen)
