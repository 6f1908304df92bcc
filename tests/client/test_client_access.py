"""403 explained: a token lacking the endpoint's scope is ``MissingScope`` naming the scope and the
fix; otherwise ``Forbidden`` saying why (a seller's token on an agency path, a client that is not
the agency's) and what to do. The non-public ``/ads`` 401 is not a token problem."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from allegro_resource.ads_client import StatsJob
from allegro_resource.errors import Forbidden, InvalidToken, MissingScope, Unauthorized
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.transport import HttpRequest, Transport, rest_error
from simulator.server import RunningSimulator
from tests.client.client_helpers import AGENCY, ClientFactory, Seller, sim_session, sim_today

PRODUCTION_PACKAGES = (
    "settings",
    "allegro_resource",
    "control_store",
    "warehouse",
    "services",
    "pipelines",
    "authorize_app",
    "allegro_ads",
)


def test_a_sellers_token_on_the_statistics_endpoint_is_forbidden_with_the_fix(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller
) -> None:
    # The seller granted every scope (allegro:api:ads included): the 403 is not about scope.
    tokens = sim_session.consented_provider(simulator.base_url, [seller.login])
    client = make_client(simulator, tokens)
    day = sim_today(simulator) - timedelta(days=1)
    job = StatsJob(seller.customer_id, seller.customer_id, seller.ads_client_id)

    with pytest.raises(Forbidden) as caught:
        client.fetch_statistics(job, day, day)

    assert not isinstance(caught.value, MissingScope)
    assert caught.value.status == 403
    assert "allegro-ads agency connect" in str(caught.value)
    assert seller.ads_client_id in str(caught.value)


def test_a_sellers_token_cannot_list_agency_clients(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller
) -> None:
    tokens = sim_session.consented_provider(simulator.base_url, [seller.login])
    client = make_client(simulator, tokens)

    with pytest.raises(Forbidden, match=r"not an agency account.*allegro-ads agency connect"):
        client.list_agency_clients(seller.customer_id)


def test_an_agency_token_without_the_ads_scope_is_missing_scope_with_the_fix(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller
) -> None:
    oauth = sim_session.sim_oauth(simulator.base_url)
    tokens = StaticTokenProvider(oauth)
    tokens.put(
        AGENCY,
        sim_session.device_consent(oauth, simulator.base_url, scope="allegro:api:profile:read"),
    )
    client = make_client(simulator, tokens)
    day = sim_today(simulator) - timedelta(days=1)

    with pytest.raises(MissingScope) as caught:
        client.fetch_statistics(seller.job, day, day)

    assert caught.value.scope == "allegro:api:ads"
    assert "lacks the scope allegro:api:ads" in str(caught.value)
    assert "allegro-ads agency connect" in str(caught.value)


def test_a_sales_token_without_the_offers_scope_is_missing_scope_asking_for_a_new_link(
    simulator: RunningSimulator, make_client: ClientFactory, seller: Seller
) -> None:
    tokens = sim_session.consented_provider(
        simulator.base_url, [seller.login], scope="allegro:api:profile:read"
    )
    client = make_client(simulator, tokens)

    with pytest.raises(MissingScope) as caught:
        client.offers(seller.customer_id, ["1"])

    assert caught.value.scope == "allegro:api:sale:offers:read"
    assert f"allegro-ads links create {seller.customer_id}" in str(caught.value)


def test_a_client_removed_from_the_agency_is_forbidden_naming_the_client_and_the_fix(
    simulator: RunningSimulator,
    provider: StaticTokenProvider,
    make_client: ClientFactory,
    seller: Seller,
) -> None:
    client = make_client(simulator, provider)
    simulator.faults(remove_clients=[seller.ads_client_id])
    day = sim_today(simulator) - timedelta(days=1)

    with pytest.raises(Forbidden, match="accept the agency's request") as caught:
        client.fetch_statistics(seller.job, day, day)

    assert caught.value.customer_id == seller.customer_id
    assert seller.ads_client_id in str(caught.value)


def test_the_non_public_ads_401_is_not_taken_for_a_stale_token(
    simulator: RunningSimulator, provider: StaticTokenProvider
) -> None:
    token = provider.access_token(AGENCY)
    request = HttpRequest(
        "GET",
        f"{simulator.base_url}/ads/clients",
        headers={"Authorization": f"Bearer {token}"},
    )

    with pytest.raises(Unauthorized) as caught:
        Transport().send(request, lambda r: (None, None), on_error=rest_error)

    assert not isinstance(caught.value, InvalidToken)  # the client would not refresh on it
    assert [e["code"] for e in caught.value.errors] == ["UNAUTHORIZED"]


def test_no_production_package_calls_the_non_public_ads_api() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for package in PRODUCTION_PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if '"/ads/' in line
    ]

    assert offenders == []
