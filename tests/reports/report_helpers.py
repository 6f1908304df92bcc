"""Helpers of the report tests: running the report job as its schedule does, reading an
e-mail's KPI table and CSV back, and the warehouse's own sums to compare them with."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import dagster as dg

from pipelines.report_jobs import REPORTS_JOB, SEND_OP
from services.report_periods import ReportPeriod
from testing.mail_server import MailServer, ReceivedMail
from testing.pipeline_agency import Agency, Connected

STAFF = "staff@agency.test"
CONTACT = "owner@seller.test"
SMTP_USER = "reports"
SMTP_PASSWORD = "smtp-pass-7f3c9a1e"


@dataclass
class Reporting:
    """The agency, the SMTP server its reports go to, and the week they cover."""

    agency: Agency
    smtp: MailServer
    period: ReportPeriod

    def send(self, kind: str = "weekly", **config: Any) -> dg.ExecuteInProcessResult:
        """One run of the report job (as the schedule launches it), on the agency's instance."""
        job = self.agency.definitions().resolve_job_def(REPORTS_JOB)
        return job.execute_in_process(
            instance=self.agency.instance,
            run_config={"ops": {SEND_OP: {"config": {"kind": kind, **config}}}},
            raise_on_error=False,
        )

    def mail_of(self, customer: Connected) -> ReceivedMail:
        """The one e-mail that names the customer in its subject."""
        found = [m for m in self.smtp.received() if customer.name in m.subject]
        assert len(found) == 1, f"{len(found)} e-mails for {customer.name}"
        return found[0]


@dataclass(frozen=True)
class Sums:
    """A customer's totals over some days, summed by the warehouse from the facts."""

    spend: Decimal
    clicks: int
    sales_value: Decimal

    @property
    def roas(self) -> str:
        if not self.spend:
            return "n/a"
        return str((self.sales_value / self.spend).quantize(Decimal("0.01"), ROUND_HALF_UP))


def warehouse_sums(agency: Agency, customer: Connected, start: date, end: date) -> Sums:
    """SUM of cost, clicks and attributed value of the customer's ads over ``start..end``."""
    with agency.warehouse() as wh:
        (row,) = wh.read(
            "SELECT COALESCE(SUM(cost), 0) AS spend, COALESCE(SUM(clicks), 0) AS clicks, "
            "COALESCE(SUM(attributed_value), 0) AS sales_value FROM ad_daily_stats "
            "WHERE customer_id = $customer AND day BETWEEN $start AND $end",
            {"customer": customer.customer_id, "start": start, "end": end},
        ).to_pylist()
    return Sums(Decimal(row["spend"]), int(row["clicks"]), Decimal(row["sales_value"]))


def campaign_spend(agency: Agency, customer: Connected, start: date, end: date) -> dict[str, Any]:
    """Each campaign's SUM(cost) over ``start..end``, from the facts."""
    with agency.warehouse() as wh:
        rows = wh.read(
            "SELECT campaign_id, SUM(cost) AS spend FROM ad_daily_stats "
            "WHERE customer_id = $customer AND day BETWEEN $start AND $end "
            "GROUP BY campaign_id",
            {"customer": customer.customer_id, "start": start, "end": end},
        ).to_pylist()
    return {row["campaign_id"]: Decimal(row["spend"]) for row in rows}


def kpi_cells(text: str) -> dict[str, list[str]]:
    """The KPI table of an e-mail body: ``{"Spend": [this, previous, change], …}``."""
    table = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] in ("Spend", "Clicks", "Sales value", "ROAS") and len(cells) == 4:
            table[cells[0]] = cells[1:]
    return table


def attached_csv(mail: ReceivedMail) -> tuple[str, list[dict[str, str]]]:
    """The file name and rows of the e-mail's one CSV attachment."""
    (part,) = list(mail.message.iter_attachments())
    assert part.get_content_type() == "text/csv"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(part.get_filename()), list(csv.DictReader(io.StringIO(payload.decode("utf-8"))))
