"""The alert sensors in-process, against the simulator and a real SMTP server on loopback: a
connection revoked in Allegro is found by the ``alerts`` sensor's check and told once, naming
the customers it stops and the command; a failed run is told by the run-failure sensor."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from pipelines.alert_sensors import ALERT_SENSOR, RUN_FAILURE_SENSOR
from pipelines.resources import build_resources
from services.clients import client_config
from services.connection_check import check_connections
from services.control import open_control
from settings.config import load_settings
from testing.mail_server import MailServer, mail_server
from testing.pipeline_agency import Agency, days_back

STAFF = "alerty@agency.test"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    """A mail server on loopback, set as the product's (staff alerts to ``STAFF``)."""
    with mail_server() as server:
        for name, value in server.product_settings("allegro-ads@agency.test").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ALLEGRO_ADS_ALERT_EMAILS", STAFF)
        monkeypatch.setenv("ALLEGRO_ADS_CONNECTION_CHECK_SECONDS", "0")
        yield server


def _tick(agency: Agency, cursor: str | None = None) -> dg.SensorResult:
    sensor = agency.definitions().resolve_sensor_def(ALERT_SENSOR)
    context = dg.build_sensor_context(
        instance=agency.instance, resources=build_resources(load_settings()), cursor=cursor
    )
    result = sensor.evaluate_tick(context)
    return result  # type: ignore[return-value]


def test_a_connection_revoked_in_allegro_is_told_once_naming_customers_and_command(
    agency: Agency, smtp: MailServer
) -> None:
    assert agency.run(*days_back(2)).success
    first = _tick(agency)
    assert smtp.received() == []

    agency.simulator.revoke("agency")
    second = _tick(agency, first.cursor)
    _tick(agency, second.cursor)

    [mail] = smtp.wait_for(1)
    assert mail.recipients == (STAFF,)
    assert mail.subject.endswith("Agency connection agency needs re-authorisation")
    for customer in agency.customers:
        assert customer.name in mail.text
    assert "allegro-ads agency connect agency" in mail.text
    assert len(smtp.received()) == 1


def test_a_failed_run_is_told_by_the_run_failure_sensor(agency: Agency, smtp: MailServer) -> None:
    agency.simulator.revoke("agency")
    _tick(agency)  # the agency alert, first
    smtp.wait_for(1)
    result = (
        agency.definitions()
        .resolve_job_def("ad_stats_job")
        .execute_in_process(instance=agency.instance, raise_on_error=False)
    )
    assert not result.success
    failure = result.get_run_failure_event()
    sensor = agency.definitions().resolve_sensor_def(RUN_FAILURE_SENSOR)
    context = dg.build_run_status_sensor_context(
        sensor_name=RUN_FAILURE_SENSOR,
        dagster_event=failure,
        dagster_instance=agency.instance,
        dagster_run=result.dagster_run,
        resources=build_resources(load_settings()),
    )

    sensor(context)  # type: ignore[operator]

    _agency_mail, run_mail = smtp.wait_for(2)
    assert run_mail.subject.endswith("Dagster run of ad_stats_job failed")
    assert result.run_id in run_mail.text


def test_the_connection_check_tries_agency_accounts_first_and_stops_at_its_budget(
    agency: Agency,
) -> None:
    settings = load_settings()
    with open_control(settings) as control:
        everyone = check_connections(control, client_config(settings), run_id="t")
        first = check_connections(control, client_config(settings), run_id="t", budget_seconds=0)
    assert [c.outcome for c in everyone] == ["ok"] * (1 + len(agency.customers))
    assert [c.account_id for c in first] == [agency.agency_accounts["agency"]]
