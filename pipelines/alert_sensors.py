"""Alerts sent from Dagster, so they go out wherever the daemon runs: the ``alerts`` sensor looks
at the control store every ``ALLEGRO_ADS_ALERT_INTERVAL_SECONDS`` (and asks Allegro whether each
connection still works every ``ALLEGRO_ADS_CONNECTION_CHECK_SECONDS``); the run-failure sensor
tells a failed run at once. Both call the same plain functions (``services.alert_sweep``), whose
claims in the control store keep each change to one message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import dagster as dg

from allegro_resource.resource import AllegroResource
from pipelines.alerts_resource import AlertsResource
from pipelines.mail_resource import MailResource
from pipelines.resources import ControlStoreResource, WarehouseResource
from services.alert_rules import FailedRun
from services.alert_sweep import LatestDays, Told, gather_snapshot, sweep
from services.connection_check import ConnectionCheck, check_connections
from settings import defaults
from warehouse import stats_queries

ALERT_SENSOR = "alerts"
RUN_FAILURE_SENSOR = "alert_on_run_failure"


def latest_failed_runs(instance: dg.DagsterInstance, job_names: Sequence[str]) -> list[FailedRun]:
    """Each job whose latest finished run failed, with its first error."""
    found = []
    for job_name in job_names:
        runs = instance.get_runs(
            filters=dg.RunsFilter(
                job_name=job_name,
                statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
            ),
            limit=1,
        )
        if runs and runs[0].status == dg.DagsterRunStatus.FAILURE:
            found.append(FailedRun(job_name, runs[0].run_id, _first_error(instance, runs[0])))
    return found


def _first_error(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The first failed step's error message (first line), else the run's failure message."""
    for event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
        records = instance.get_records_for_run(run.run_id, of_type=event_type, limit=1).records
        for record in records:
            event = record.event_log_entry.dagster_event
            if event is None:
                continue
            if event.is_step_failure:
                message = (
                    event.step_failure_data.error.message if event.step_failure_data.error else ""
                )
            else:
                message = event.message or ""
            if message.strip():
                return message.strip().splitlines()[0][:300]
    return ""


def _latest_days(warehouse: WarehouseResource) -> LatestDays:
    def read(customer_ids: Sequence[str]) -> Mapping[str, date | None]:
        with warehouse.open() as wh:
            return stats_queries.latest_loaded_day(wh, list(customer_ids))

    return read


_Resources = tuple[
    ControlStoreResource, WarehouseResource, MailResource, AlertsResource, AllegroResource
]


def alert_pass(
    instance: dg.DagsterInstance,
    job_names: Sequence[str],
    resources: _Resources,
    *,
    check_now: bool,
    run_id: str,
) -> tuple[list[Told], list[ConnectionCheck]]:
    """Check the connections when due, then record and tell what holds now."""
    control, warehouse, mail, alerting, allegro = resources
    channels = alerting.channels(mail, (control.token_keys, allegro.client_secret))
    failed = latest_failed_runs(instance, job_names)
    with control.open() as ctl:
        checks = check_connections(ctl, allegro.client_config(), run_id=run_id) if check_now else []
        now = datetime.now(UTC)
        snapshot = gather_snapshot(
            ctl, alerting.config(), now, latest_days=_latest_days(warehouse), failed_runs=failed
        )
        return sweep(ctl, channels, snapshot), checks


def _summary(told: Sequence[Told], checks: Sequence[ConnectionCheck]) -> str:
    parts = [
        f"{t.state}: {t.subject} ({'sent' if t.delivered.reached_someone else 'retrying'})"
        for t in told
    ]
    broken = [c for c in checks if c.outcome != "ok"]
    if checks:
        parts.append(
            f"checked {len(checks)} connection(s)"
            + (": " + ", ".join(f"{c.account_name} {c.outcome}" for c in broken) if broken else "")
        )
    return "; ".join(parts) or "nothing new to tell"


def build_alert_sensors(
    job_names: Sequence[str], interval_seconds: int = defaults.ALERT_INTERVAL_SECONDS
) -> list[dg.SensorDefinition]:
    """The ``alerts`` sensor and the run-failure sensor over ``job_names``."""

    @dg.sensor(
        name=ALERT_SENSOR,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Tells staff (e-mail, webhook) once when a connection needs re-authorisation or "
            "expires, a customer is not loaded for a day, a run failed or a client left the "
            "agency, and once when it is resolved."
        ),
    )
    def alerts(
        context: dg.SensorEvaluationContext,
        control: ControlStoreResource,
        warehouse: WarehouseResource,
        mail: MailResource,
        alerting: AlertsResource,
        allegro: AllegroResource,
    ) -> dg.SensorResult:
        now = datetime.now(UTC).timestamp()
        last_check = float(context.cursor) if context.cursor else 0.0
        check_now = now - last_check >= alerting.connection_check_seconds
        told, checks = alert_pass(
            context.instance,
            job_names,
            (control, warehouse, mail, alerting, allegro),
            check_now=check_now,
            run_id=f"sensor-{ALERT_SENSOR}",
        )
        summary = _summary(told, checks)
        context.log.info(summary)
        return dg.SensorResult(
            skip_reason=dg.SkipReason(summary), cursor=str(now if check_now else last_check)
        )

    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Tells staff at once when a run fails (once per job until a run succeeds).",
    )
    def alert_on_run_failure(
        context: dg.RunFailureSensorContext,
        control: ControlStoreResource,
        warehouse: WarehouseResource,
        mail: MailResource,
        alerting: AlertsResource,
        allegro: AllegroResource,
    ) -> None:
        if context.dagster_run.job_name not in job_names:
            return
        told, _checks = alert_pass(
            context.instance,
            job_names,
            (control, warehouse, mail, alerting, allegro),
            check_now=False,
            run_id=f"sensor-{RUN_FAILURE_SENSOR}",
        )
        context.log.info(_summary(told, []))

    return [alerts, alert_on_run_failure]
