"""Fixtures of the report tests: an SMTP server on loopback, and an agency whose statistics of
the last complete week and the week before are loaded, mail pointed at that server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from allegro_resource.windows import reporting_today
from control_store.customers import set_contact_email
from services.control import open_control
from services.report_periods import ReportPeriod, last_complete_period
from settings.config import load_settings
from testing.mail_server import MailServer, mail_server
from testing.pipeline_agency import Agency, yesterday
from tests.reports.report_helpers import CONTACT, SMTP_PASSWORD, SMTP_USER, STAFF, Reporting


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """An SMTP server on loopback that wants a user name and password."""
    with mail_server(user=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
def reporting(agency: Agency, smtp: MailServer, monkeypatch: pytest.MonkeyPatch) -> Reporting:
    """The agency with the days of last week's report (and the week before) loaded, mail set
    to ``smtp``, staff at ``STAFF``, reports to customers on, and a contact address for the
    first customer only."""
    period: ReportPeriod = last_complete_period("weekly", reporting_today())
    previous_start, _ = period.previous
    assert agency.run(previous_start, yesterday()).success
    for name, value in {
        **smtp.product_settings("reports@agency.test"),
        "ALLEGRO_ADS_SMTP_USER": SMTP_USER,
        "ALLEGRO_ADS_SMTP_PASSWORD": SMTP_PASSWORD,
        "ALLEGRO_ADS_ALERT_EMAILS": STAFF,
        "ALLEGRO_ADS_REPORTS_TO_CUSTOMERS": "true",
        "ALLEGRO_ADS_AGENCY_NAME": "Agencja Testowa",
    }.items():
        monkeypatch.setenv(name, value)
    agency.settings = load_settings()
    with open_control(agency.settings) as control:
        set_contact_email(control.engine, agency.customers[0].customer_id, CONTACT)
    return Reporting(agency, smtp, period)
