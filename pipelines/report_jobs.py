"""The weekly and monthly report e-mails: one job that sends a period's reports, and the two
schedules that launch it once per period (Monday and the 1st, after the daily load)."""

# No `from __future__ import annotations`: Dagster reads the parameter annotations at run time.
from datetime import date

import dagster as dg
from pydantic import Field

from allegro_resource.windows import reporting_today
from control_store.report_sends import ReportKind
from pipelines.mail_resource import MailResource
from pipelines.reports_resource import ReportsResource
from pipelines.resources import ControlStoreResource, WarehouseResource
from services.report_mail import ReportOutcome, send_period_reports
from services.report_periods import ReportPeriod, last_complete_period
from settings.defaults import REPORTING_TIMEZONE

REPORTS_JOB = "customer_reports_job"
SEND_OP = "send_customer_reports"
# After the daily run (06:00 by default) and its freshness deadline (3 h later), so the
# period's last day is loaded; in the reporting time zone.
WEEKLY_CRON = "0 10 * * 1"
MONTHLY_CRON = "0 10 1 * *"


class ReportRunConfig(dg.Config):
    """Which reports a run sends: the kind, the day it counts as sent on, the customers."""

    kind: ReportKind = Field("weekly", description="weekly or monthly")
    day: str = Field(
        "",
        description="ISO date the run acts on (the last complete week or month before it); "
        "empty: today in the reporting time zone",
    )
    customers: list[str] = Field(
        default_factory=list, description="Customer ids or names; empty: every customer"
    )


def run_period(config: ReportRunConfig, tz: str) -> ReportPeriod:
    """The period a run reports on."""
    day = date.fromisoformat(config.day) if config.day else reporting_today(tz=tz)
    return last_complete_period(config.kind, day)


def outcome_table(outcomes: list[ReportOutcome]) -> str:
    lines = ["| customer | id | status | recipients | error |", "|---|---|---|---|---|"]
    for o in outcomes:
        error = (o.error or "").replace("|", "\\|")
        lines.append(
            f"| {o.customer_name} | {o.customer_id} | {o.status} | {', '.join(o.recipients)} "
            f"| {error} |"
        )
    return "\n".join(lines)


def build_reports_job(tz: str = REPORTING_TIMEZONE) -> dg.JobDefinition:
    """The job sending one period's report e-mails (periods of the reporting time zone)."""

    @dg.op(name=SEND_OP, out=dg.Out(dg.Nothing))
    def send_customer_reports(
        context: dg.OpExecutionContext,
        config: ReportRunConfig,
        control: ControlStoreResource,
        warehouse: WarehouseResource,
        mail: MailResource,
        reports: ReportsResource,
    ) -> dg.Output[None]:
        """Send the period's report to each customer's staff (and contact, if configured)
        unless already sent; fails at the end when any could not be sent, so a re-run retries
        exactly those."""
        period = run_period(config, tz)
        mailer = mail.mailer()
        if mailer is None:
            context.log.warning(
                "no mail server is set (ALLEGRO_ADS_SMTP_HOST): no report e-mail was sent"
            )
            return dg.Output(None, metadata={"sent": dg.MetadataValue.int(0)})
        with control.open() as ctl, warehouse.open() as wh:
            outcomes = send_period_reports(
                ctl, wh, mailer, period, reports.audience(), only=config.customers
            )
        for outcome in outcomes:
            context.log.info(f"{outcome.customer_name}: {outcome.status} {outcome.error or ''}")
        failed = [o for o in outcomes if o.status == "failed"]
        metadata: dict[str, dg.MetadataValue] = {  # type: ignore[type-arg]
            "period": dg.MetadataValue.text(f"{period.start} .. {period.end}"),
            "sent": dg.MetadataValue.int(sum(o.status == "sent" for o in outcomes)),
            "already_sent": dg.MetadataValue.int(sum(o.status == "already_sent" for o in outcomes)),
            "no_recipients": dg.MetadataValue.int(
                sum(o.status == "no_recipients" for o in outcomes)
            ),
            "per_customer": dg.MetadataValue.md(outcome_table(outcomes)),
        }
        if failed:
            raise dg.Failure(
                description=f"{len(failed)} report(s) not sent: "
                + "; ".join(f"{o.customer_name}: {o.error}" for o in failed),
                metadata=metadata,
            )
        return dg.Output(None, metadata=metadata)

    @dg.job(
        name=REPORTS_JOB,
        description="Send the weekly or monthly report e-mails of one period (each once).",
    )
    def customer_reports_job() -> None:
        send_customer_reports()

    return customer_reports_job


def build_report_schedules(tz: str = REPORTING_TIMEZONE) -> list[dg.ScheduleDefinition]:
    """``weekly_customer_reports`` (Mondays) and ``monthly_customer_reports`` (the 1st)."""
    return [
        _report_schedule("weekly", WEEKLY_CRON, tz),
        _report_schedule("monthly", MONTHLY_CRON, tz),
    ]


def _report_schedule(kind: ReportKind, cron: str, tz: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{kind}_customer_reports",
        cron_schedule=cron,
        execution_timezone=tz,
        job_name=REPORTS_JOB,
        description=f"Send every customer's {kind} report e-mail of the period just ended.",
    )
    def report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time
        day = reporting_today(scheduled, tz=tz)
        period = last_complete_period(kind, day)
        return dg.RunRequest(
            run_key=f"{kind}-report-{period.key}",
            run_config={"ops": {SEND_OP: {"config": {"kind": kind, "day": day.isoformat()}}}},
            tags={"report_period": period.key},
        )

    return report_schedule
