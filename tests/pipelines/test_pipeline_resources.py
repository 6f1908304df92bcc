"""What a run's resources read and record: the agency account's token refreshed during a run is
in the API log with the run's id, once; the control resource reads its own fields, not the
environment; a production run needs only the secrets it uses (no signing key)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from allegro_resource.models import TokenSet
from allegro_resource.oauth import TOKEN_PATH
from control_store.schema import api_calls
from pipelines.resources import ControlStoreResource
from services.control import open_control
from settings.config import ConfigError, load_settings
from simulator.server import RunningSimulator
from testing.pipeline_agency import Agency, days_back
from tests.pipelines.fixtures import SEED

RUN_DAYS = 7
PRODUCTION_APP_ID = "agency-production-app"
PRODUCTION_APP_SECRET = "a-production-secret-the-demo-never-uses"


def expire_access_tokens(agency: Agency, account_ids: list[str]) -> None:
    """Make the accounts' stored access tokens ones obtained 12 hours ago and expired a minute
    ago, as a daily run finds them: the run must refresh each before its first call."""
    now = datetime.now(UTC)
    with open_control(agency.settings) as control:
        for account_id in account_ids:
            info = control.tokens.info(account_id)
            assert info is not None
            with control.tokens.locked(account_id) as locked:
                row = locked.current
                assert row is not None
                expired = TokenSet(
                    row.access_token, row.refresh_token, now - timedelta(minutes=1), info.scope
                )
                locked.save_refreshed(expired, now - timedelta(hours=12))


def test_the_agency_token_refreshed_during_a_run_is_in_the_api_log_once_with_the_runs_id(
    agency: Agency,
) -> None:
    (agency_account_id,) = agency.agency_accounts.values()
    expire_access_tokens(agency, [agency_account_id])
    start, end = days_back(RUN_DAYS)

    result = agency.run(start, end)

    assert result.success
    with open_control(agency.settings) as control, control.engine.connect() as conn:
        refreshes = conn.execute(
            select(api_calls.c.customer_id, api_calls.c.status).where(
                api_calls.c.endpoint == TOKEN_PATH, api_calls.c.run_id == result.run_id
            )
        ).all()
    # Every customer is read with the agency account's token: one refresh serves them all.
    assert refreshes == [(agency_account_id, 200)]
    for customer in agency.customers:
        assert agency.stored(customer, start, end) == agency.truth(customer, start, end)


def test_the_control_resource_opens_from_its_own_fields_whatever_the_environment_holds(
    stores: None, isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ["ALLEGRO_ADS_CONTROL_URL"]
    resource = ControlStoreResource(
        url=url,
        token_keys=Fernet.generate_key().decode(),
        data_dir=str(isolated_settings),
        refresh_margin_seconds=120,
        refresh_token_days=30,
    )
    monkeypatch.setenv("ALLEGRO_ADS_ENV", "production")  # and no signing key, no client secret
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", "sqlite:////nowhere/control.db")
    monkeypatch.setenv("ALLEGRO_ADS_REFRESH_TOKEN_DAYS", "not a number")
    monkeypatch.setenv("ALLEGRO_ADS_MAX_ATTEMPTS", "not a number")

    with resource.open() as control:
        assert control.settings.resolved_control_url == url
        assert control.settings.refresh_margin_seconds == 120
        assert control.tokens.refresh_lifetime == timedelta(days=30)
        assert control.tokens.list_info() == []


@pytest.fixture
def production_agency(
    stores: None,
    simulator_factory: Callable[..., RunningSimulator],
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> Agency:
    """An agency with one customer, connected in development; then ``ALLEGRO_ADS_ENV`` is
    production with the application's credentials and token keys set, the signing key not."""
    monkeypatch.setenv("ALLEGRO_ADS_CLIENT_ID", PRODUCTION_APP_ID)
    monkeypatch.setenv("ALLEGRO_ADS_CLIENT_SECRET", PRODUCTION_APP_SECRET)
    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", Fernet.generate_key().decode())
    simulator = simulator_factory(
        seed=SEED,
        client_id=PRODUCTION_APP_ID,
        client_secret=PRODUCTION_APP_SECRET,
        redirect_uris=(load_settings().redirect_uri,),
    )
    monkeypatch.setenv("ALLEGRO_ADS_API_URL", simulator.base_url)
    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", simulator.base_url)
    agency = Agency("duckdb", load_settings(), simulator, instance)
    agency.connect_agency()
    seller = simulator.users()[0]
    agency.connect(seller["login"], seller["name"])  # links are signed with the dev key
    monkeypatch.setenv("ALLEGRO_ADS_ENV", "production")
    monkeypatch.delenv("ALLEGRO_ADS_SIGNING_KEY", raising=False)
    return agency


def test_a_production_run_needs_no_signing_key_and_never_makes_a_development_one(
    production_agency: Agency, isolated_settings: Path
) -> None:
    with pytest.raises(ConfigError, match="ALLEGRO_ADS_SIGNING_KEY"):
        load_settings()  # the portal signs links: it still refuses to start
    dev_secrets = isolated_settings / "dev-secrets.json"
    written_in_development = dev_secrets.read_bytes()
    start, end = days_back(RUN_DAYS)

    result = production_agency.run(start, end)

    assert result.success
    (customer,) = production_agency.customers
    stored = production_agency.stored(customer, start, end)
    assert stored and stored == production_agency.truth(customer, start, end)
    assert dev_secrets.read_bytes() == written_in_development
