"""The Dagster resource builds working OAuth and Ads clients from its configuration."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest
from pydantic import ValidationError

from allegro_resource.oauth import TOKEN_PATH
from allegro_resource.resource import AllegroResource
from allegro_resource.static_tokens import StaticTokenProvider
from simulator.server import RunningSimulator
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import AGENCY, sellers_of, sim_session, sim_today


def _resource(sim: RunningSimulator, **overrides: object) -> AllegroResource:
    config: dict[str, object] = {
        "api_url": sim.base_url,
        "auth_url": sim.base_url,
        "client_id": sim_session.SIM_CLIENT_ID,
        "client_secret": sim_session.SIM_CLIENT_SECRET,
        "redirect_uri": sim_session.SIM_REDIRECT_URI,
        "max_attempts": 2,
    }
    return AllegroResource(**(config | overrides))  # type: ignore[arg-type]


def test_the_resource_builds_a_client_that_fetches_statistics(simulator: RunningSimulator) -> None:
    resource = _resource(simulator)
    seller = sellers_of(simulator)[0]
    tokens = StaticTokenProvider(resource.oauth())
    tokens.put(AGENCY, sim_session.device_consent(resource.oauth(), simulator.base_url))
    log = MemoryCallLog()
    client = resource.ads_client(tokens, log, run_id="run-1")
    client.today = lambda: sim_today(simulator)
    end = sim_today(simulator) - timedelta(days=1)

    rows = client.fetch_statistics(seller.job, end, end)

    assert rows and {r.day for r in rows} == {end}
    assert [c.run_id for c in log.snapshot()] == ["run-1"]


def test_the_resource_passes_the_types_style_and_the_scopes_on(
    simulator: RunningSimulator,
) -> None:
    resource = _resource(simulator, types_style="comma", agency_scope="allegro:api:ads")

    assert resource.ads_client(StaticTokenProvider(resource.oauth())).types_style == "comma"
    assert resource.oauth().agency_scope == "allegro:api:ads"


def test_the_resources_oauth_client_logs_its_calls_a_refresh_included_with_the_run_id(
    simulator: RunningSimulator,
) -> None:
    resource = _resource(simulator)
    seller = sellers_of(simulator)[0]
    log = MemoryCallLog()
    oauth = resource.oauth(log, run_id="run-1")

    tokens = sim_session.consent(oauth, seller.login)
    oauth.refresh(tokens.refresh_token, customer_id=seller.customer_id)

    calls = [(c.endpoint, c.status, c.run_id) for c in log.snapshot()]
    assert calls == [(TOKEN_PATH, 200, "run-1")] * 2
    assert log.snapshot()[-1].customer_id == seller.customer_id


def test_the_resource_reads_its_secret_from_the_environment_at_run_time(
    simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_CLIENT_SECRET", sim_session.SIM_CLIENT_SECRET)
    resource = _resource(simulator, client_secret=dg.EnvVar("ALLEGRO_ADS_CLIENT_SECRET"))
    seller = sellers_of(simulator)[0]

    with dg.build_resources({"allegro": resource}) as resources:
        oauth = resources.allegro.oauth()
        tokens = sim_session.consent(oauth, seller.login)

    assert tokens.access_token


def test_the_resource_refuses_a_zero_concurrency(simulator: RunningSimulator) -> None:
    with pytest.raises(ValidationError, match="concurrency"):
        _resource(simulator, concurrency=0)
