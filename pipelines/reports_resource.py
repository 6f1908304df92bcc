"""Who gets the report e-mails, as a Dagster resource (the report job reads no setting itself)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from services.report_mail import ReportAudience
from settings.config import Settings


class ReportsResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Who gets the report e-mails."""

    staff_emails: str = Field("", description="ALLEGRO_ADS_ALERT_EMAILS, comma-separated")
    to_customers: bool = Field(
        False, description="ALLEGRO_ADS_REPORTS_TO_CUSTOMERS: also each customer's contact"
    )
    agency_name: str = Field("", description="ALLEGRO_ADS_AGENCY_NAME, signs each e-mail")

    def audience(self) -> ReportAudience:
        staff = tuple(a.strip() for a in self.staff_emails.split(",") if a.strip())
        return ReportAudience(staff, self.to_customers, self.agency_name)


def build_reports_resource(settings: Settings) -> ReportsResource:
    return ReportsResource(
        staff_emails=settings.alert_emails,
        to_customers=settings.reports_to_customers,
        agency_name=settings.agency_name,
    )
