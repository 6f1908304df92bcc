"""Fixtures of the production-profile test: the deployment of ``docs/deployment.md`` on loopback.

``deployment`` is every piece of state on PostgreSQL (Dagster's storage under the real
``deploy/dagster.yaml`` in a temporary ``DAGSTER_HOME``, the warehouse and the control store in
databases of their own), ``ALLEGRO_ADS_ENV=production`` with real-looking secrets, the simulator
as Allegro, the agency account connected by the device flow, three of its clients adopted as
customers (each consenting its sales account through the real consent functions), and the
documented set-up commands already run. ``services`` starts the long-running processes (the
daemon, the portal) each in its own process group and kills the whole group afterwards.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pytest
from cryptography.fernet import Fernet
from dagster._core.instance.ref import InstanceRef

from settings.config import load_settings
from simulator.server import start_simulator
from simulator.state import SimulatorConfig
from testing.postgres_databases import temporary_database
from tests.production.production_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    CUSTOMERS,
    EVERY_MINUTE,
    REPO,
    SEED,
    VENV_BIN,
    Agency,
    Deployment,
    Services,
    commands_running,
    free_port,
)


@pytest.fixture
def services(deployment: Deployment, tmp_path: Path) -> Iterator[Services]:
    """Long-running processes of one test, each killed with its process group afterwards
    (before the deployment's databases are dropped)."""
    started = Services(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def deployment(
    isolated_settings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    """docs/deployment.md on loopback: PostgreSQL stores, the set-up commands run, customers in.

    The daily schedule is started (every minute) and the new-customer sensor stopped, so what
    the daemon launches is the schedule's run only (three 2-year history runs would queue ahead
    of it in the single-slot pool)."""
    with ExitStack() as stack:
        dagster_url = stack.enter_context(temporary_database("aam_prod_dagster"))
        warehouse_url = stack.enter_context(temporary_database("aam_prod_warehouse"))
        control_url = stack.enter_context(temporary_database("aam_prod_control"))
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        portal_port = free_port()
        redirect_uri = f"http://127.0.0.1:{portal_port}/oauth/callback"
        simulator = start_simulator(
            SimulatorConfig(
                seed=SEED,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                redirect_uris=(redirect_uri,),
            )
        )
        stack.callback(simulator.stop)
        # One environment for this process and every subprocess, as one EnvironmentFile would.
        environment = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": dagster_url,
            "ALLEGRO_ADS_ENV": "production",
            "ALLEGRO_ADS_WAREHOUSE_URL": warehouse_url,
            "ALLEGRO_ADS_CONTROL_URL": control_url,
            "ALLEGRO_ADS_AUTH_URL": simulator.base_url,
            "ALLEGRO_ADS_API_URL": simulator.base_url,
            "ALLEGRO_ADS_CLIENT_ID": CLIENT_ID,
            "ALLEGRO_ADS_CLIENT_SECRET": CLIENT_SECRET,
            "ALLEGRO_ADS_REDIRECT_URI": redirect_uri,
            "ALLEGRO_ADS_PUBLIC_URL": f"http://127.0.0.1:{portal_port}",
            "ALLEGRO_ADS_TOKEN_KEYS": Fernet.generate_key().decode(),
            "ALLEGRO_ADS_SIGNING_KEY": secrets.token_urlsafe(48),
            "ALLEGRO_ADS_SCHEDULE_CRON": EVERY_MINUTE,
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        isolated_settings.mkdir(parents=True, exist_ok=True)

        # The documented set-up; independent steps at once (each CLI costs seconds of start-up).
        dagster = str(VENV_BIN / "dagster")
        workspace = ["-w", "workspace.yaml"]
        with commands_running(
            [str(VENV_BIN / "allegro-ads"), "db", "upgrade"], [dagster, "instance", "migrate"]
        ):
            pass
        instance = stack.enter_context(dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))))
        agency = Agency("postgres", load_settings(), simulator, instance)
        with commands_running(
            [dagster, "instance", "concurrency", "set", "warehouse_writer", "1"],
            [dagster, "sensor", "stop", "new_customer_history", *workspace],
            [dagster, "schedule", "start", "daily_ad_stats", *workspace],
        ):
            # The schedule's runs read the customers when they start, not when it is turned on.
            agency.connect_agency()
            for user in simulator.users()[:CUSTOMERS]:
                agency.connect(user["login"], user["name"])
        yield Deployment(agency, instance, home, portal_port)
