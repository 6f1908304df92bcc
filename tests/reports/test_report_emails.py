"""The weekly report e-mails, sent by the report job through a real SMTP server on loopback:
who gets them, KPIs that are the warehouse's own sums, the campaign CSV attached, each period
sent once, and nothing secret in any message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from allegro_resource.windows import reporting_today
from control_store.report_sends import list_report_sends
from services.control import open_control
from services.report_periods import last_complete_period
from settings.config import load_settings
from testing.mail_server import free_port
from testing.pipeline_agency import yesterday
from tests.reports.report_helpers import (
    CONTACT,
    SMTP_PASSWORD,
    STAFF,
    Reporting,
    attached_csv,
    campaign_spend,
    kpi_cells,
    warehouse_sums,
)
from warehouse.report_export import CAMPAIGN_EXPORT_SCHEMA


def test_each_customer_gets_one_weekly_report_to_staff_and_to_a_contact_where_set(
    reporting: Reporting,
) -> None:
    assert reporting.send().success

    customers = reporting.agency.customers
    assert len(reporting.smtp.received()) == len(customers)
    with_contact, *without = customers
    assert reporting.mail_of(with_contact).recipients == (STAFF, CONTACT)
    for customer in without:
        assert reporting.mail_of(customer).recipients == (STAFF,)


def test_the_kpis_of_the_week_and_the_week_before_are_the_warehouses_sums(
    reporting: Reporting,
) -> None:
    assert reporting.send().success

    period = reporting.period
    for customer in reporting.agency.customers:
        now = warehouse_sums(reporting.agency, customer, period.start, period.end)
        before = warehouse_sums(reporting.agency, customer, *period.previous)
        assert now.spend > 0, f"{customer.name} spent nothing that week: nothing to compare"
        cells = kpi_cells(reporting.mail_of(customer).text)
        assert cells["Spend"][:2] == [f"{now.spend:.2f} PLN", f"{before.spend:.2f} PLN"]
        assert cells["Clicks"][:2] == [str(now.clicks), str(before.clicks)]
        assert cells["Sales value"][:2] == [
            f"{now.sales_value:.2f} PLN",
            f"{before.sales_value:.2f} PLN",
        ]
        assert cells["ROAS"][:2] == [now.roas, before.roas]
        change = (now.spend - before.spend) / before.spend * 100
        assert cells["Spend"][2] == f"{change:+.1f}%"


def test_the_attached_csv_lists_every_campaign_of_the_week_as_the_portal_exports_it(
    reporting: Reporting,
) -> None:
    assert reporting.send().success

    period = reporting.period
    for customer in reporting.agency.customers:
        name, rows = attached_csv(reporting.mail_of(customer))
        assert name == f"campaigns_{customer.customer_id}_{period.start}_{period.end}.csv"
        assert list(rows[0]) == CAMPAIGN_EXPORT_SCHEMA.names
        spend = campaign_spend(reporting.agency, customer, period.start, period.end)
        assert {r["campaign_id"]: Decimal(r["cost"]) for r in rows} == spend
        assert {r["customer_name"] for r in rows} == {customer.name}


def test_a_second_run_for_the_same_week_sends_nothing_and_each_send_is_recorded(
    reporting: Reporting,
) -> None:
    assert reporting.send().success
    sent = len(reporting.smtp.received())

    assert reporting.send().success

    assert len(reporting.smtp.received()) == sent
    with open_control(reporting.agency.settings) as control:
        records = list_report_sends(control.engine)
    period = reporting.period
    assert sorted(r.customer_id for r in records) == sorted(
        c.customer_id for c in reporting.agency.customers
    )
    for record in records:
        assert (record.kind, record.period_start, record.period_end) == (
            "weekly",
            period.start,
            period.end,
        )
        assert STAFF in record.recipients


def test_no_token_key_or_password_appears_in_any_report_email(reporting: Reporting) -> None:
    assert reporting.send().success

    settings = load_settings()
    secrets = [SMTP_PASSWORD, settings.client_secret, settings.signing_secret]
    secrets += settings.fernet_keys
    with open_control(settings) as control:
        for info in control.tokens.list_info():
            stored = control.tokens.read(info.account_id)
            assert stored is not None
            secrets += [stored.access_token, stored.refresh_token]
    for mail in reporting.smtp.received():
        leaked = [secret for secret in secrets if secret in mail.raw]
        assert leaked == [], f"{mail.subject} carries a secret"


@pytest.mark.parametrize("unset", ["ALLEGRO_ADS_SMTP_HOST"])
def test_without_a_mail_server_the_run_sends_and_records_nothing(
    reporting: Reporting, unset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(unset)

    assert reporting.send().success

    assert reporting.smtp.received() == []
    with open_control(reporting.agency.settings) as control:
        assert list_report_sends(control.engine) == []


def test_a_refused_connection_fails_the_run_records_nothing_and_the_next_run_sends_them_all(
    reporting: Reporting, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_SMTP_PORT", str(free_port()))

    failed = reporting.send()

    assert not failed.success
    with open_control(reporting.agency.settings) as control:
        assert list_report_sends(control.engine) == []
    monkeypatch.setenv("ALLEGRO_ADS_SMTP_PORT", str(reporting.smtp.port))
    assert reporting.send().success
    assert len(reporting.smtp.received()) == len(reporting.agency.customers)


def test_the_monthly_report_covers_last_month_against_as_many_days_before_it(
    reporting: Reporting,
) -> None:
    month = last_complete_period("monthly", reporting_today())
    previous_start, previous_end = month.previous
    assert reporting.agency.run(previous_start, yesterday()).success

    assert reporting.send("monthly").success

    for customer in reporting.agency.customers:
        mail = reporting.mail_of(customer)
        assert f"{month.start} to {month.end}" in mail.subject
        assert mail.subject.startswith("Monthly")
        now = warehouse_sums(reporting.agency, customer, month.start, month.end)
        before = warehouse_sums(reporting.agency, customer, previous_start, previous_end)
        cells = kpi_cells(mail.text)
        assert cells["Spend"][:2] == [f"{now.spend:.2f} PLN", f"{before.spend:.2f} PLN"]
        assert cells["ROAS"][:2] == [now.roas, before.roas]
        name, _ = attached_csv(mail)
        assert name.endswith(f"_{month.start}_{month.end}.csv")
