"""A real ``dagster-daemon`` sends the alerts: a connection revoked in the simulator is e-mailed
to staff within two ticks of the ``alerts`` sensor, once, naming the customers and the fix; the
daemon restarted over the same stores sends it no second time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.instance.ref import InstanceRef
from dagster._core.scheduler.instigation import InstigatorTick, TickStatus

from pipelines.alert_sensors import ALERT_SENSOR
from testing.mail_server import MailServer, mail_server
from testing.pipeline_agency import Agency, days_back
from testing.waiting import wait_until
from tests.production.production_helpers import VENV_BIN, Service, Services

STAFF = "dyzurny@agency.test"
INTERVAL_SECONDS = 5
# Starting the daemon loads the code location in a subprocess: slow on a shared machine.
START_GUARD_SECONDS = 300


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    with mail_server() as server:
        for name, value in {
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_SECURITY": "none",
            "MAIL_FROM": "allegro-ads@agency.test",
            "ALERT_EMAILS": STAFF,
            "ALERT_INTERVAL_SECONDS": str(INTERVAL_SECONDS),
            "CONNECTION_CHECK_SECONDS": "0",  # every tick asks Allegro
        }.items():
            monkeypatch.setenv(f"ALLEGRO_ADS_{name}", value)
        yield server


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def alert_ticks(instance: dg.DagsterInstance, *, finished: bool = True) -> list[InstigatorTick]:
    """The ``alerts`` sensor's ticks (finished ones only, or also the one under way), oldest
    first; a failed tick fails the test."""
    states = [
        s
        for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if s.name == ALERT_SENSOR
    ]
    if not states:
        return []
    ticks = instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id)
    for tick in ticks:
        assert tick.status != TickStatus.FAILURE, f"the alerts sensor failed: {tick.error}"
    done = [
        t for t in ticks if t.status in (TickStatus.SKIPPED, TickStatus.SUCCESS) or not finished
    ]
    return sorted(done, key=lambda tick: tick.timestamp)


def start_daemon(services: Services, name: str) -> Service:
    return services.start(name, [str(VENV_BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"])


def wait_for_ticks(instance: dg.DagsterInstance, daemon: Service, count: int, after: float) -> None:
    def enough() -> bool:
        assert daemon.running, daemon.tail()
        return len([t for t in alert_ticks(instance) if t.timestamp >= after]) >= count

    wait_until(enough, f"{count} ticks of the alerts sensor", guard_seconds=START_GUARD_SECONDS)


@pytest.mark.slow
def test_a_revoked_connection_is_emailed_once_within_two_ticks_and_not_again_after_a_restart(
    agency: Agency, smtp: MailServer, dagster_home: Path, tmp_path: Path
) -> None:
    # Loaded up to yesterday: nothing else (history runs, freshness) has anything to say.
    assert agency.run(*days_back(2)).success
    services = Services(tmp_path)
    ref = InstanceRef.from_dir(str(dagster_home))
    try:
        with dg.DagsterInstance.from_ref(ref) as instance:
            daemon = start_daemon(services, "daemon")
            wait_for_ticks(instance, daemon, 1, after=0)
            assert smtp.received() == []

            revoked_at = time.time()
            agency.simulator.revoke("agency")
            [mail] = smtp.wait_for(1)
            # The e-mail goes out during a tick, before that tick is recorded as finished.
            started = alert_ticks(instance, finished=False)
            ticks_since = [t for t in started if t.timestamp >= revoked_at]
            assert len(ticks_since) <= 2  # (a tick under way at the revocation may send it)

            assert mail.recipients == (STAFF,)
            assert "needs re-authorisation" in mail.subject
            for customer in agency.customers:
                assert customer.name in mail.text
            assert "allegro-ads agency connect agency" in mail.text

            told_at = time.time()
            wait_for_ticks(instance, daemon, 2, after=told_at)
            daemon.stop()
            restarted_at = time.time()
            daemon = start_daemon(services, "daemon-restarted")
            wait_for_ticks(instance, daemon, 2, after=restarted_at)
            assert len(smtp.received()) == 1, [m.subject for m in smtp.received()]
    finally:
        services.stop_all()
