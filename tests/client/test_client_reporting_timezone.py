"""The client's date rules (never today, the 2-year floor) follow the reporting time zone it is
configured with (``ALLEGRO_ADS_REPORTING_TIMEZONE``), not Warsaw's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from allegro_resource.ads_client import StatsJob
from allegro_resource.client_config import ClientConfig
from allegro_resource.errors import DateRangeError
from settings import defaults
from testing.frozen_now import freeze_reporting_now
from testing.memory_call_log import MemoryCallLog

# 03:00 UTC on 30 March: already the 30th in Warsaw (05:00), still the 29th in New York (23:00).
INSTANT = datetime(2026, 3, 30, 3, 0, tzinfo=UTC)
JOB = StatsJob(customer_id="cust-1", agency_account_id="agency-1", ads_client_id="client-1")


class _NoTokens:
    """A token provider for clients that must refuse before asking for any token."""

    def access_token(
        self, account_id: str, /, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> str:  # pragma: no cover - must not be reached
        raise AssertionError(f"a token of {account_id} was asked for")


def _config(reporting_timezone: str) -> ClientConfig:
    return ClientConfig(
        api_url="http://127.0.0.1:9",  # never called: the range is refused first
        auth_url="http://127.0.0.1:9",
        client_id="app",
        client_secret="secret",
        redirect_uri="http://127.0.0.1:9/cb",
        timeout_seconds=defaults.HTTP_TIMEOUT_SECONDS,
        max_attempts=1,
        max_retry_seconds=1.0,
        max_range_days=defaults.MAX_RANGE_DAYS,
        history_days=defaults.HISTORY_DAYS,
        concurrency=1,
        reporting_timezone=reporting_timezone,
    )


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_reporting_now(monkeypatch, INSTANT)


def test_a_new_york_client_refuses_new_yorks_today_though_it_is_warsaws_yesterday() -> None:
    call_log = MemoryCallLog()
    client = _config("America/New_York").ads_client(_NoTokens(), call_log)
    new_york_today = date(2026, 3, 29)

    with pytest.raises(DateRangeError, match=r"up to yesterday \(2026-03-28\)"), client:
        client.fetch_statistics(JOB, new_york_today, new_york_today)

    assert call_log.snapshot() == []
    # The same day is yesterday for a client on the default (Warsaw) calendar.
    warsaw = _config(defaults.REPORTING_TIMEZONE).ads_client(_NoTokens())
    assert warsaw.today() == date(2026, 3, 30)


def test_a_client_with_an_unknown_reporting_timezone_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="reporting_timezone 'Mars/Olympus'"):
        _config("Mars/Olympus").ads_client(_NoTokens())
