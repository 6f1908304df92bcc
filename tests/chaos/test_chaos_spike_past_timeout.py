"""A latency spike longer than the per-request timeout costs one retry, not the customer's data.

With the default timeout (``ALLEGRO_ADS_HTTP_TIMEOUT_SECONDS`` = 30) spikes of a few seconds are
simply waited out (the chaos scenario shows it); a spike past the timeout must be cut off and the
GET sent again, which is safe because reading statistics changes nothing at Allegro.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from allegro_resource.ads_client import AllegroAdsClient, StatsJob
from allegro_resource.calllog import ApiCall
from services.clients import token_manager
from services.control import open_control
from testing.memory_call_log import MemoryCallLog
from testing.pipeline_agency import Agency, yesterday

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 3.0  # room for the retry on a loaded machine
SPIKE_MS = 6000


class _CalmAfterTheTimeout(MemoryCallLog):
    """Keeps the calls; the first attempt that timed out switches the spikes off. The client
    records an attempt before it sends the retry, so the retry finds Allegro calm whatever the
    machine's speed."""

    def __init__(self, agency: Agency) -> None:
        super().__init__()
        self._agency = agency
        self._calmed = False

    def record(self, call: ApiCall) -> None:
        super().record(call)
        if not self._calmed and "timed out" in (call.error or ""):
            self._calmed = True
            self._agency.simulator.faults(spike_rate=0.0)


def test_a_spike_past_the_timeout_is_cut_off_and_retried_and_the_rows_arrive(
    agency: Agency,
) -> None:
    customer = agency.customers[0]
    end = yesterday()
    start = end - timedelta(days=6)
    agency.simulator.faults(spike_rate=1.0, spike_ms=SPIKE_MS)
    calls = _CalmAfterTheTimeout(agency)

    with open_control(agency.settings) as control:
        client = AllegroAdsClient(
            agency.settings.api_url,
            token_manager(control),
            calls,
            timeout=TIMEOUT_SECONDS,
            max_attempts=3,
        )
        with client:
            job = StatsJob(customer.customer_id, customer.agency_account_id, customer.ads_client_id)
            table = client.fetch_statistics_table(job, start, end)

    assert table.num_rows == len(agency.truth(customer, start, end))
    attempts = [(c.attempt, c.status, "timed out" in (c.error or "")) for c in calls.snapshot()]
    assert attempts == [(1, None, True), (2, 200, False)]
    assert agency.simulator.stats()["faults"]["spike"] == 1
