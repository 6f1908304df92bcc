"""Who alerts tell and what their texts need, as a Dagster resource: the staff addresses, the
optional webhook (a ``dg.EnvVar`` when the environment sets it: its URL is a credential), the
agency's name, the portal's address for action links."""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg
from pydantic import Field

from pipelines.mail_resource import MailResource
from services.alert_delivery import AlertChannels
from services.alert_sweep import AlertConfig
from settings import defaults
from settings.config import Settings

WEBHOOK_VARIABLE = "ALLEGRO_ADS_ALERT_WEBHOOK_URL"


class AlertsResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Who is told (staff addresses, the webhook) and what the alerts' texts need."""

    alert_emails: str = Field("", description="Staff addresses, comma-separated")
    alert_webhook_url: str = Field("", description="dg.EnvVar(ALLEGRO_ADS_ALERT_WEBHOOK_URL)")
    agency_name: str = Field("Demo Agency", description="Named in every alert")
    public_url: str = Field(description="The portal's public address, for action links")
    expiring_days: int = Field(7, ge=0, description="A connection ending within is expiring")
    reporting_timezone: str = Field(defaults.REPORTING_TIMEZONE)
    connection_check_seconds: int = Field(
        defaults.CONNECTION_CHECK_SECONDS,
        ge=0,
        description="How often each stored connection is tried against Allegro (GET /me)",
    )

    def config(self) -> AlertConfig:
        return AlertConfig(self.public_url, self.expiring_days, self.reporting_timezone)

    def channels(self, mail: MailResource, secrets: Sequence[str]) -> AlertChannels:
        return AlertChannels(
            mailer=mail.mailer(),
            staff=tuple(a.strip() for a in self.alert_emails.split(",") if a.strip()),
            webhook_url=self.alert_webhook_url,
            agency_name=self.agency_name,
            secrets=(self.alert_webhook_url, mail.smtp_password, *secrets),
        )


def build_alerts_resource(settings: Settings) -> AlertsResource:
    """The alerts resource of ``settings`` (the webhook by its variable's name)."""
    webhook = settings.alert_webhook_url.get_secret_value()
    return AlertsResource(
        alert_emails=settings.alert_emails,
        alert_webhook_url=(
            dg.EnvVar(WEBHOOK_VARIABLE)  # type: ignore[arg-type]
            if os.environ.get(WEBHOOK_VARIABLE)
            else webhook
        ),
        agency_name=settings.agency_name,
        public_url=settings.public_url,
        expiring_days=settings.expiring_days,
        reporting_timezone=settings.reporting_timezone,
        connection_check_seconds=settings.connection_check_seconds,
    )
