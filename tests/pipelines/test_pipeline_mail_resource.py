"""The mail resource: configured from the settings, its password kept as the variable's name,
it sends through the server (a real SMTP server on loopback); with no host it sends nothing."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.mail_resource import MailResource, build_mail_resource
from services.mail import OutgoingMail
from settings.config import settings_from
from testing.mail_server import mail_server


def test_the_password_is_the_variable_and_the_resource_signs_in_with_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_SMTP_PASSWORD", "env-pass-42")
    with mail_server(user="alerts", password="env-pass-42") as server:
        settings = settings_from(
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_security="none",
            smtp_user="alerts",
            smtp_password="env-pass-42",
            mail_from="alerty@agency.test",
        )
        resource = build_mail_resource(settings)
        assert isinstance(resource.smtp_password, dg.EnvVar)
        mailer = resource.process_config_and_initialize().mailer()
        assert mailer is not None
        mailer.send(OutgoingMail(to=("anna@agency.test",), subject="test", text="body"))
        [received] = server.wait_for(1)
    assert received.recipients == ("anna@agency.test",)


def test_without_a_host_the_resource_has_no_mailer() -> None:
    assert MailResource().mailer() is None  # type: ignore[call-arg]  # every field has a default
