"""The daily run's ``agency_clients`` asset: the agency's client list recorded (new clients
offered for adoption, clients that left flagged), and what a removed client means for its
customer's statistics."""

from __future__ import annotations

from typing import Any

import dagster as dg

from control_store import agency_clients
from pipelines.checks import ALL_LOADED
from pipelines.discovery_asset import AGENCY_CLIENTS
from services.control import open_control
from services.stats_sync import ACCESS_REMOVED
from testing.pipeline_agency import Agency, check_results, days_back, materialization_metadata

RUN_DAYS = 3


def listing_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (materialization,) = result.asset_materializations_for_node(AGENCY_CLIENTS)
    return {k: v.value for k, v in materialization.metadata.items()}


def test_the_first_listing_offers_every_client_of_the_agency_for_adoption(
    empty_agency: Agency,
) -> None:
    sellers = empty_agency.simulator.users()
    (account_id,) = empty_agency.agency_accounts.values()

    result = empty_agency.run_daily(*days_back(RUN_DAYS))

    assert result.success
    metadata = listing_metadata(result)
    assert metadata["clients"] == len(sellers)
    assert metadata["removed_clients"] == "none"
    for seller in sellers:
        assert seller["ads_client_id"] in metadata["new_clients"]
    with open_control(empty_agency.settings) as control:
        waiting = agency_clients.unadopted_clients(control.engine, account_id)
    assert {c.client_id for c in waiting} == {s["ads_client_id"] for s in sellers}


def test_a_client_removed_from_the_agency_is_recorded_and_flags_its_customer_whose_stats_stop(
    empty_agency: Agency,
) -> None:
    agency = empty_agency
    kept, removed = (
        agency.adopt(user["login"], user["name"], sales=False)
        for user in agency.simulator.users()[:2]
    )
    start, end = days_back(RUN_DAYS)
    agency.simulator.faults(remove_clients=[removed.ads_client_id])  # the seller ended it

    result = agency.run_daily(start, end)

    assert result.success
    metadata = listing_metadata(result)
    assert removed.ads_client_id in metadata["removed_clients"]
    assert kept.ads_client_id not in metadata["removed_clients"]
    assert f"`{removed.customer_id}`" in metadata["flagged_customers"]
    assert ACCESS_REMOVED in metadata["flagged_customers"]
    assert kept.customer_id not in metadata["flagged_customers"]
    with open_control(agency.settings) as control:
        client = agency_clients.client_of_customer(control.engine, removed.customer_id)
    assert client is not None and client.removed
    stats = materialization_metadata(result)
    assert stats["failed_customers"] == removed.customer_id
    check = check_results(result)[ALL_LOADED]
    assert f"{removed.name} ({removed.customer_id}) not loaded" in (check.description or "")
    assert "access removed in Allegro Ads" in str(check.metadata["errors"].value)
    assert agency.simulator.stats()["forbidden"].get("removed_client", 0) == 0, (
        "a removed client is known from the listing: its statistics are not even asked"
    )
    assert agency.stored(kept, start, end) == agency.truth(kept, start, end)
    assert agency.stored(removed, start, end) == {}
