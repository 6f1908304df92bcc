"""The daily offers step outside Dagster: every customer's offers read concurrently, written in
one transaction, one customer's failure isolated from the others."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from allegro_resource.ads_client import AllegroAdsClient
from services.clients import client_config, token_manager
from services.control import Control, open_control
from services.offers_sync import OffersReport, sync_offers
from testing.gathering_proxy import GatheringProxy
from testing.pipeline_agency import Agency, Connected, days_back
from tests.pipelines.fixtures import CUSTOMERS

RUN_DAYS = 7


@contextmanager
def client_through(api_url: str, control: Control) -> Iterator[AllegroAdsClient]:
    """The product's client, its API calls sent to ``api_url`` (token refreshes are not)."""
    config = replace(client_config(control.settings), api_url=api_url, concurrency=CUSTOMERS)
    with (
        closing(config.oauth()) as oauth,
        closing(config.ads_client(token_manager(control, oauth))) as client,
    ):
        yield client


def sync_through_gathering_proxy(
    agency: Agency, synced_at: datetime
) -> tuple[OffersReport, GatheringProxy]:
    """``sync_offers`` for every customer at ``synced_at`` (stamped on the offers it writes),
    each call held until all customers' are in flight."""
    proxy = GatheringProxy(agency.simulator.base_url, expected=CUSTOMERS)
    try:
        with (
            open_control(agency.settings) as control,
            agency.warehouse() as wh,
            client_through(proxy.url, control) as client,
        ):
            report = sync_offers(control, client, wh, now=synced_at)
    finally:
        proxy.close()
    return report, proxy


def synced_at(agency: Agency, customer: Connected, moment: datetime) -> bool:
    with agency.warehouse() as wh:
        stamps = wh.read(
            "SELECT DISTINCT fetched_at FROM offers WHERE customer_id = $customer_id",
            {"customer_id": customer.customer_id},
        ).column("fetched_at")
    return [stamp.as_py() for stamp in stamps] == [moment]


def test_every_customers_offers_are_read_at_the_same_time(agency: Agency) -> None:
    assert agency.run_daily(*days_back(RUN_DAYS)).success

    now = datetime.now(UTC).replace(microsecond=0)  # unlike the run's fetch time

    report, proxy = sync_through_gathering_proxy(agency, now)

    assert proxy.most_in_flight == CUSTOMERS
    assert not report.failed and len(report.loaded) == CUSTOMERS
    for customer in agency.customers:
        assert synced_at(agency, customer, now), customer.name
        true_offers = agency.true_offers(customer)
        stored = agency.stored_offers(customer)
        assert stored == {offer_id: true_offers[offer_id] for offer_id in stored}, customer.name


def test_a_customer_whose_offers_call_fails_holds_back_no_other(agency: Agency) -> None:
    assert agency.run_daily(*days_back(RUN_DAYS)).success
    withdrawn, *others = agency.customers
    offers_before = agency.stored_offers(withdrawn)
    agency.simulator.revoke(withdrawn.login)  # its sales token now fails at Allegro

    now = datetime.now(UTC).replace(microsecond=0)  # unlike the run's fetch time

    report, proxy = sync_through_gathering_proxy(agency, now)

    assert proxy.most_in_flight == CUSTOMERS, "the failing call was in flight with the others"
    (failed,) = report.failed
    assert failed.customer_id == withdrawn.customer_id
    assert failed.fix is not None and f"links create {withdrawn.customer_id}" in failed.fix
    assert agency.stored_offers(withdrawn) == offers_before, "its last offers stay"
    assert not synced_at(agency, withdrawn, now)
    for customer in others:
        assert synced_at(agency, customer, now), customer.name
