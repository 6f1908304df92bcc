"""Malformed answers raise one MalformedResponse naming the endpoint, customer and field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import MalformedResponse
from allegro_resource.static_tokens import StaticTokenProvider
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import ClientFactory, Seller, sim_today


def _range(sim: RunningSimulator, days: int) -> tuple[date, date]:
    end = sim_today(sim) - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def test_truncated_json_raises_malformed_response_naming_endpoint_and_customer(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    start, end = _range(simulator, 10)
    simulator.faults(truncate_next=1)

    with pytest.raises(MalformedResponse) as caught:
        client.fetch_statistics(seller.job, start, end)

    message = str(caught.value)
    assert f"/advertising-agencies/clients/{seller.ads_client_id}/statistics" in message
    assert f"customer {seller.customer_id}" in message
    assert caught.value.customer_id == seller.customer_id


def test_a_wrong_type_raises_malformed_response_naming_the_field(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    start, end = _range(simulator, 10)
    simulator.faults(malformed_next=1)

    with pytest.raises(MalformedResponse) as caught:
        client.fetch_statistics(seller.job, start, end)

    field = caught.value.field
    assert field is not None and field.endswith(".data.views")  # the simulator sends "abc"
    assert f"field '{field}'" in str(caught.value)


def test_a_missing_field_raises_malformed_response_naming_clicks(
    simulator: RunningSimulator, client: AllegroAdsClient, seller: Seller
) -> None:
    start, end = _range(simulator, 10)
    simulator.faults(missing_field=True)

    with pytest.raises(MalformedResponse, match="clicks") as caught:
        client.fetch_statistics(seller.job, start, end)

    assert caught.value.field is not None and caught.value.field.endswith("clicks")


class _FaultOnThirdRequest:
    """Hands out the agency's token, switching a truncation fault on just before request 3."""

    def __init__(self, tokens: StaticTokenProvider, sim: RunningSimulator) -> None:
        self.tokens, self.sim, self.requests = tokens, sim, 0

    def access_token(
        self,
        account_id: str,
        /,
        *,
        force_refresh: bool = False,
        rejected_token: str | None = None,
    ) -> str:
        self.requests += 1
        if self.requests == 3:
            self.sim.faults(truncate_next=1)
        return self.tokens.access_token(
            account_id, force_refresh=force_refresh, rejected_token=rejected_token
        )


def test_a_failure_in_window_3_returns_nothing_half_parsed(
    simulator: RunningSimulator,
    provider: StaticTokenProvider,
    make_client: ClientFactory,
    seller: Seller,
    call_log: MemoryCallLog,
) -> None:
    client = make_client(simulator, _FaultOnThirdRequest(provider, simulator))
    start, end = _range(simulator, 4 * 31)

    with pytest.raises(MalformedResponse):
        client.fetch_statistics(seller.job, start, end)

    statuses = [
        (c.status, c.error is None)
        for c in call_log.snapshot()
        if c.endpoint.endswith("/statistics")
    ]
    assert statuses == [(200, True), (200, True), (statuses[2][0], False)]
