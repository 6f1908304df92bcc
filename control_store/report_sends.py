"""Report e-mails sent: one row per customer, kind (weekly or monthly) and period, so a re-run of
the schedule finds the period already sent and sends nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Engine, Row, select
from sqlalchemy.exc import IntegrityError

from control_store.database import write
from control_store.schema import report_sends

ReportKind = Literal["weekly", "monthly"]


@dataclass(frozen=True, slots=True)
class ReportSend:
    customer_id: str
    kind: ReportKind
    period_start: date
    period_end: date
    recipients: tuple[str, ...]
    sent_at: datetime


def _send(row: Row[Any]) -> ReportSend:
    return ReportSend(
        customer_id=row.customer_id,
        kind=row.kind,
        period_start=row.period_start,
        period_end=row.period_end,
        recipients=tuple(part for part in row.recipients.split(",") if part),
        sent_at=row.sent_at,
    )


def record_report_send(
    engine: Engine,
    customer_id: str,
    kind: ReportKind,
    period_start: date,
    period_end: date,
    recipients: Sequence[str],
    sent_at: datetime,
) -> bool:
    """Record a report as sent; False (nothing changed) if this period's was recorded already."""
    if period_end < period_start:
        raise ValueError(f"a report period cannot end ({period_end}) before it starts")
    try:
        with write(engine) as conn:
            conn.execute(
                report_sends.insert().values(
                    customer_id=customer_id,
                    kind=kind,
                    period_start=period_start,
                    period_end=period_end,
                    recipients=",".join(recipients),
                    sent_at=sent_at,
                )
            )
    except IntegrityError:
        if find_report_send(engine, customer_id, kind, period_start, period_end) is None:
            raise  # not the duplicate: an unknown customer or a bad kind
        return False
    return True


def find_report_send(
    engine: Engine, customer_id: str, kind: ReportKind, period_start: date, period_end: date
) -> ReportSend | None:
    """The record of this period's report, if it was sent."""
    with engine.connect() as conn:
        row = conn.execute(
            select(report_sends).where(
                report_sends.c.customer_id == customer_id,
                report_sends.c.kind == kind,
                report_sends.c.period_start == period_start,
                report_sends.c.period_end == period_end,
            )
        ).first()
    return None if row is None else _send(row)


def list_report_sends(engine: Engine, customer_id: str | None = None) -> list[ReportSend]:
    """Reports sent, newest period first; ``customer_id`` limits to one customer."""
    stmt = select(report_sends).order_by(
        report_sends.c.period_start.desc(), report_sends.c.kind, report_sends.c.customer_id
    )
    if customer_id is not None:
        stmt = stmt.where(report_sends.c.customer_id == customer_id)
    with engine.connect() as conn:
        return [_send(row) for row in conn.execute(stmt)]
