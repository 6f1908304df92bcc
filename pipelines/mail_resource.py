"""The mail server as a Dagster resource: alert and report sensors and jobs send through it.

The password is a ``dg.EnvVar`` when the environment sets it, so the UI shows the variable's
name, never its value. With no host, ``mailer()`` is ``None`` and nothing is sent.
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from services.mail import Mailer, mailer_from
from settings import defaults
from settings.config import Settings, settings_from

PASSWORD_VARIABLE = "ALLEGRO_ADS_SMTP_PASSWORD"  # noqa: S105 - a variable's name


class MailResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """An SMTP server (host, port, none/starttls/tls, user, password, sender)."""

    smtp_host: str = Field("", description="Empty: no mail is sent")
    smtp_port: int = Field(0, ge=0, le=65535, description="0: the security's standard port")
    smtp_security: defaults.SmtpSecurity = Field(defaults.SMTP_SECURITY)
    smtp_user: str = Field("")
    smtp_password: str = Field("", description="dg.EnvVar(ALLEGRO_ADS_SMTP_PASSWORD)")
    mail_from: str = Field("", description="The sender's address")

    def mailer(self) -> Mailer | None:
        """The mailer, or ``None`` when no mail server is set."""
        return mailer_from(
            settings_from(
                smtp_host=self.smtp_host,
                smtp_port=self.smtp_port or None,
                smtp_security=self.smtp_security,
                smtp_user=self.smtp_user,
                smtp_password=self.smtp_password,
                mail_from=self.mail_from,
            )
        )


def build_mail_resource(settings: Settings) -> MailResource:
    """The mail resource of ``settings`` (the password by its variable's name)."""
    password = settings.smtp_password.get_secret_value()
    return MailResource(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port or 0,
        smtp_security=settings.smtp_security,
        smtp_user=settings.smtp_user,
        smtp_password=(
            dg.EnvVar(PASSWORD_VARIABLE)  # type: ignore[arg-type]
            if os.environ.get(PASSWORD_VARIABLE)
            else password
        ),
        mail_from=settings.mail_from,
    )
