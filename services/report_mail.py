"""The scheduled report e-mails: for each active customer linked to an agency client, one
message per period to the staff (``ALLEGRO_ADS_ALERT_EMAILS`` and the customer's portfolio's
alert address) and, with ``ALLEGRO_ADS_REPORTS_TO_CUSTOMERS``, to the customer's contact
address, with the campaign CSV attached. Each send is recorded in the control store
(``report_sends``: who, when, which period), so a re-run sends nothing already sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from control_store.customers import Customer, list_customers
from control_store.portfolios import list_portfolios
from control_store.report_sends import find_report_send, record_report_send
from services.control import Control
from services.mail import Attachment, Mailer, MailError, OutgoingMail, recipients
from services.report_content import CustomerReport, Kpis, customer_report
from services.report_periods import ReportPeriod
from warehouse.stats_loader import Warehouse

Status = Literal["sent", "already_sent", "no_recipients", "failed"]


@dataclass(frozen=True, slots=True)
class ReportAudience:
    """Who is sent reports: the staff addresses, and whether customers' contacts are too."""

    staff: tuple[str, ...]
    to_customers: bool
    agency_name: str


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """What happened to one customer's report of the period."""

    customer_id: str
    customer_name: str
    status: Status
    recipients: tuple[str, ...] = ()
    error: str | None = None


def send_period_reports(
    control: Control,
    wh: Warehouse,
    mailer: Mailer,
    period: ReportPeriod,
    audience: ReportAudience,
    *,
    only: Sequence[str] = (),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[ReportOutcome]:
    """Send ``period``'s report of every reportable customer (those in ``only``, ids or names,
    when given) that has not been sent yet. One customer's failure never stops the others."""
    engine = control.engine
    portfolio_emails = {p.id: p.alert_email for p in list_portfolios(engine)}
    outcomes = []
    for customer in reportable(list_customers(engine, active_only=True), only):
        portfolio_email = portfolio_emails.get(customer.portfolio_id or "")
        to = report_recipients(customer, portfolio_email, audience)
        if find_report_send(engine, customer.id, period.kind, period.start, period.end):
            outcomes.append(ReportOutcome(customer.id, customer.name, "already_sent"))
            continue
        if not to:
            outcomes.append(ReportOutcome(customer.id, customer.name, "no_recipients"))
            continue
        report = customer_report(wh, customer.id, customer.name, period)
        try:
            mailer.send(report_mail(report, to, audience.agency_name))
        except MailError as exc:
            outcomes.append(ReportOutcome(customer.id, customer.name, "failed", to, str(exc)))
            continue
        record_report_send(engine, customer.id, period.kind, period.start, period.end, to, now())
        outcomes.append(ReportOutcome(customer.id, customer.name, "sent", to))
    return outcomes


def reportable(customers: Sequence[Customer], only: Sequence[str] = ()) -> list[Customer]:
    """Customers whose statistics are loaded (linked to an agency client), limited to ``only``
    (ids or names) when given."""
    wanted = set(only)
    return [
        c
        for c in customers
        if c.has_statistics_link and (not wanted or c.id in wanted or c.name in wanted)
    ]


def report_recipients(
    customer: Customer, portfolio_email: str | None, audience: ReportAudience
) -> tuple[str, ...]:
    """The staff, the portfolio's alert address, then (if asked) the customer's contact."""
    contact = [customer.contact_email] if audience.to_customers and customer.contact_email else []
    return recipients(audience.staff, [portfolio_email] if portfolio_email else [], contact)


def report_mail(report: CustomerReport, to: Sequence[str], agency_name: str) -> OutgoingMail:
    """The e-mail of ``report``: subject, plain-text body, the campaign CSV attached."""
    period = report.period
    noun = "Weekly" if period.kind == "weekly" else "Monthly"
    return OutgoingMail(
        to=tuple(to),
        subject=(
            f"{noun} Allegro Ads report: {report.customer_name}, {period.start} to {period.end}"
        ),
        text=report_text(report, agency_name),
        attachments=(Attachment(report.csv_filename, report.csv, "text/csv"),),
    )


def report_text(report: CustomerReport, agency_name: str) -> str:
    """The body: the KPI table against the previous period, the top campaigns, what is missing."""
    period = report.period
    unit = "week" if period.kind == "weekly" else "period"
    lines = [
        f"Allegro Ads, {report.customer_name}: {period.start} to {period.end}",
        f"compared with the {period.days} days before ({report.previous_start} to "
        f"{report.previous_end}).",
        "",
    ]
    if not report.kpis:
        lines.append("No advertising activity in either period.")
    for comparison in report.kpis:
        lines += _kpi_table(comparison.current, comparison.previous, unit)
        lines.append("")
    if report.top_campaigns:
        lines.append(f"Top campaigns by spend ({len(report.top_campaigns)} of {report.campaigns}):")
        for rank, c in enumerate(report.top_campaigns, start=1):
            lines.append(
                f"{rank}. {c.name}: spend {_money(c.spend)} {c.currency}, clicks {c.clicks}, "
                f"sales value {_money(c.sales_value)} {c.currency}, ROAS {_ratio(c.roas)}"
            )
        lines.append("")
    if report.days_not_loaded:
        days = ", ".join(str(day) for day in report.days_not_loaded)
        lines.append(f"Not loaded yet (figures may rise once loaded): {days}.")
        lines.append("")
    lines.append(
        f"The attached {report.csv_filename} lists every campaign of the period "
        "(spend, clicks, sales, ROAS)."
    )
    lines += ["", f"{agency_name}"]
    return "\n".join(lines) + "\n"


def _kpi_table(current: Kpis, previous: Kpis, unit: str) -> list[str]:
    """The four KPIs of one currency in aligned columns: this period, the one before, change."""
    money = current.currency
    rows = [
        ("", f"this {unit}", f"previous {unit}", "change"),
        (
            "Spend",
            f"{_money(current.spend)} {money}",
            f"{_money(previous.spend)} {money}",
            _change(current.spend, previous.spend),
        ),
        (
            "Clicks",
            str(current.clicks),
            str(previous.clicks),
            _change(Decimal(current.clicks), Decimal(previous.clicks)),
        ),
        (
            "Sales value",
            f"{_money(current.sales_value)} {money}",
            f"{_money(previous.sales_value)} {money}",
            _change(current.sales_value, previous.sales_value),
        ),
        ("ROAS", _ratio(current.roas), _ratio(previous.roas), _points(current.roas, previous.roas)),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _ratio(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _change(current: Decimal, previous: Decimal) -> str:
    """Relative change, one decimal; "n/a" from zero."""
    if not previous:
        return "n/a"
    return f"{(current - previous) / previous * 100:+.1f}%"


def _points(current: Decimal | None, previous: Decimal | None) -> str:
    """An absolute change of a ratio."""
    if current is None or previous is None:
        return "n/a"
    return f"{current - previous:+.2f}"
