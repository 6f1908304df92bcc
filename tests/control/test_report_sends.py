"""Report e-mails sent are recorded once per customer, kind and period, so a re-run finds the
period sent and sends nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from control_store.report_sends import find_report_send, list_report_sends, record_report_send

SENT = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
WEEK = (date(2026, 11, 30), date(2026, 12, 6))


def test_a_period_is_recorded_once(engine: Engine, customer_id: str) -> None:
    assert record_report_send(engine, customer_id, "weekly", *WEEK, ["a@agency.test"], SENT)
    assert not record_report_send(engine, customer_id, "weekly", *WEEK, ["b@agency.test"], SENT)
    found = find_report_send(engine, customer_id, "weekly", *WEEK)
    assert found is not None and found.recipients == ("a@agency.test",)


def test_the_same_period_of_another_kind_is_another_report(
    engine: Engine, customer_id: str
) -> None:
    record_report_send(engine, customer_id, "weekly", *WEEK, ["a@agency.test"], SENT)
    month = (date(2026, 11, 1), date(2026, 11, 30))
    assert record_report_send(engine, customer_id, "monthly", *month, ["a@agency.test"], SENT)
    assert [s.kind for s in list_report_sends(engine, customer_id)] == ["weekly", "monthly"]


def test_a_period_ending_before_it_starts_is_refused(engine: Engine, customer_id: str) -> None:
    with pytest.raises(ValueError, match="before it starts"):
        record_report_send(engine, customer_id, "weekly", WEEK[1], WEEK[0], ["a@x.pl"], SENT)


def test_an_unknown_customer_is_an_error_not_a_duplicate(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        record_report_send(engine, "c_nobody", "weekly", *WEEK, ["a@agency.test"], SENT)
