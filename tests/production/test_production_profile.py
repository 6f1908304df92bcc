"""The production profile of docs/deployment.md, brought up on this machine: a real
``dagster-daemon`` on PostgreSQL storage under ``deploy/dagster.yaml`` runs the daily schedule's
tick through its run queue (the agency's clients, the statistics of the lookback window with the
agency account's token, the offers behind the ads), and ``allegro-ads serve`` serves the portal
from the same stores."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import requests
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorTick, TickStatus
from dagster._core.storage.tags import SCHEDULE_NAME_TAG, TICK_ID_TAG

from allegro_resource.windows import reporting_zone
from pipelines.assets import ASSET_NAME, WRITER_POOL
from pipelines.checks import CHECK_DESCRIPTIONS
from pipelines.discovery_asset import AGENCY_CLIENTS, ALL_AGENCIES_LISTED
from pipelines.offers_asset import ALL_OFFERS_LOADED, OFFERS
from pipelines.partitions import lookback_range, range_tags
from services.offers_sync import ad_offer_ids
from tests.production.production_helpers import (
    CUSTOMERS,
    VENV_BIN,
    Deployment,
    Service,
    Services,
    log_on_failure,
)

SCHEDULE = "daily_ad_stats"
# The first tick comes at the next minute boundary (≤ 60 s), its run ~10 s later on an idle
# machine; the rest is room for a machine shared with other test runs (CI runs the load tests'
# 16 worker processes beside it on 2 cores).
TICK_AND_RUN_SECONDS = 300
PORTAL_START_SECONDS = 60


def schedule_ticks(instance: dg.DagsterInstance) -> list[InstigatorTick]:
    """The daily schedule's ticks, oldest first (empty while the schedule has none)."""
    states = [
        state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
        if state.name == SCHEDULE
    ]
    assert len(states) == 1, f"schedule states: {states}"
    state = states[0]
    assert state.status == InstigatorStatus.RUNNING, "`dagster schedule start` did not stick"
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
    return sorted(ticks, key=lambda tick: tick.timestamp)


def wait_for_first_scheduled_run(
    instance: dg.DagsterInstance, daemon: Service
) -> tuple[InstigatorTick, dg.DagsterRun]:
    """The schedule's first tick and its run, once the run has finished (bounded wait)."""
    deadline = time.monotonic() + TICK_AND_RUN_SECONDS
    while time.monotonic() < deadline:
        assert daemon.running, f"the daemon exited with {daemon.process.returncode}"
        ticks = schedule_ticks(instance)
        if ticks:
            tick = ticks[0]
            assert tick.status != TickStatus.FAILURE, f"the tick failed: {tick.error}"
            if tick.status == TickStatus.SUCCESS and tick.run_ids:
                run = instance.get_run_by_id(tick.run_ids[0])
                if run is not None and run.is_finished:
                    return tick, run
        time.sleep(1)
    ticks = schedule_ticks(instance)
    raise AssertionError(
        f"no finished scheduled run within {TICK_AND_RUN_SECONDS} s; ticks: "
        + ", ".join(f"{t.status.value} {t.run_ids}" for t in ticks)
    )


def check_evaluations(
    instance: dg.DagsterInstance, run_id: str
) -> dict[str, dg.AssetCheckEvaluation]:
    """The run's asset check evaluations by check name, read from its event log."""
    evaluations = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        data = record.dagster_event.event_specific_data if record.dagster_event else None
        assert isinstance(data, dg.AssetCheckEvaluation), record
        evaluations[data.check_name] = data
    return evaluations


def wait_for_login_page(portal: Service, url: str) -> requests.Response:
    """GET the portal's login page once the server answers (bounded wait)."""
    deadline = time.monotonic() + PORTAL_START_SECONDS
    while True:
        assert portal.running, f"the portal exited with {portal.process.returncode}"
        try:
            return requests.get(f"{url}/portal/login", timeout=10)
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"no portal within {PORTAL_START_SECONDS} s"
            time.sleep(0.5)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_daemon_runs_the_daily_schedule_tick_for_three_customers_on_postgresql(
    deployment: Deployment, services: Services
) -> None:
    instance = deployment.instance
    agency = deployment.agency
    daemon = services.start(
        "dagster-daemon", [str(VENV_BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]
    )
    # The portal beside it, under waitress, on the same control store: cheap while we wait.
    portal = services.start(
        "portal",
        [str(VENV_BIN / "allegro-ads"), "serve", "--port", str(deployment.portal_port)],
    )

    with log_on_failure(portal):
        login = wait_for_login_page(portal, deployment.portal_url)
        assert login.status_code == 200
        assert "waitress" in login.headers.get("Server", "")
    with log_on_failure(daemon):
        tick, run = wait_for_first_scheduled_run(instance, daemon)
        # Later ticks (every minute) must not add runs while the results are read.
        daemon.stop()

        assert tick.status == TickStatus.SUCCESS and tick.run_ids == [run.run_id]
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags[SCHEDULE_NAME_TAG] == SCHEDULE
        assert run.tags[TICK_ID_TAG] == str(tick.tick_id)
        # Queued by the tick (ENQUEUED exists only under the QueuedRunCoordinator), then
        # dequeued and launched by the daemon's queue (STARTING), then run by its worker.
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        events = [
            record.dagster_event.event_type
            for record in instance.all_logs(run.run_id)
            if record.dagster_event is not None
        ]
        lifecycle = [
            dg.DagsterEventType.RUN_ENQUEUED,
            dg.DagsterEventType.RUN_STARTING,
            dg.DagsterEventType.RUN_START,
            dg.DagsterEventType.RUN_SUCCESS,
        ]
        assert [e for e in events if e in lifecycle] == lifecycle
        assert instance.event_log_storage.get_concurrency_info(WRITER_POOL).slot_count == 1

        # The run covers the lookback window ending the day before the tick's Warsaw date.
        tick_day = datetime.fromtimestamp(tick.timestamp, UTC).astimezone(reporting_zone()).date()
        start, end = lookback_range(agency.settings.lookback_days, tick_day)
        assert {k: run.tags[k] for k in range_tags(start, end)} == range_tags(start, end)

        assert len(agency.customers) == CUSTOMERS
        for customer in agency.customers:
            truth = agency.truth(customer, start, end)
            assert truth, f"the simulator serves nothing for {customer.name}"
            assert agency.stored(customer, start, end) == truth, customer.name
            with agency.warehouse() as wh:
                pointed_to = ad_offer_ids(wh, customer.customer_id)
            true_offers = agency.true_offers(customer)
            assert pointed_to, f"{customer.name}'s sponsored ads point to no offer"
            expected = {offer_id: true_offers[offer_id] for offer_id in pointed_to}
            assert agency.stored_offers(customer) == expected, customer.name

        evaluations = check_evaluations(instance, run.run_id)
        assert set(evaluations) == {*CHECK_DESCRIPTIONS, ALL_AGENCIES_LISTED, ALL_OFFERS_LOADED}
        failed = [name for name, evaluation in evaluations.items() if not evaluation.passed]
        assert failed == [], f"checks failed: {failed}"
        # One run, every day of the window: each daily partition materialised by it.
        materialized = [
            record.asset_materialization
            for record in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
        ]
        assert {m.asset_key for m in materialized if m} == {
            dg.AssetKey(name) for name in (AGENCY_CLIENTS, ASSET_NAME, OFFERS)
        }
        days = (end - start).days + 1
        window = [(start + timedelta(days=n)).isoformat() for n in range(days)]
        stats = [m for m in materialized if m and m.asset_key == dg.AssetKey(ASSET_NAME)]
        assert sorted(str(m.partition) for m in stats) == window
