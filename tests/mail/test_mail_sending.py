"""Sending mail through a real SMTP server on loopback: what arrives, signing in, and the
error each misconfiguration gives (naming the setting to fix, never the password)."""

from __future__ import annotations

from typing import Any

import pytest

from services.mail import (
    Attachment,
    MailAuthFailed,
    MailConfig,
    MailConnectionFailed,
    Mailer,
    MailSecurityFailed,
    OutgoingMail,
    mailer_from,
)
from settings.config import ConfigError, settings_from
from testing.mail_server import MailServer, free_port, mail_server

SENDER = "alerty@agency.test"


def _plain(server: MailServer, **extra: Any) -> Mailer:
    return Mailer(MailConfig(server.host, server.port, "none", SENDER, **extra))


def test_a_message_arrives_with_its_subject_body_and_csv_attachment(smtp: MailServer) -> None:
    csv = b"kampania;wydatki\nLato;12,50\n"
    _plain(smtp).send(
        OutgoingMail(
            to=("anna@agency.test", "piotr@agency.test"),
            subject="Raport tygodniowy: Sklep Łąka",
            text="Wydatki: 12,50 zł",
            attachments=(Attachment("kampanie.csv", csv, "text/csv"),),
        )
    )
    [received] = smtp.wait_for(1)
    assert received.sender == SENDER
    assert received.recipients == ("anna@agency.test", "piotr@agency.test")
    assert received.subject == "Raport tygodniowy: Sklep Łąka"
    assert received.text.strip() == "Wydatki: 12,50 zł"
    [part] = list(received.message.iter_attachments())
    assert part.get_filename() == "kampanie.csv"
    assert part.get_content_type() == "text/csv"
    assert part.get_payload(decode=True) == csv


def test_signs_in_when_a_user_is_set() -> None:
    with mail_server(user="alerts", password="s3cret-pass") as server:
        _plain(server, user="alerts", password="s3cret-pass").send(
            OutgoingMail(to=("anna@agency.test",), subject="hello", text="body")
        )
        assert len(server.wait_for(1)) == 1


def test_a_wrong_password_names_the_settings_and_never_the_password() -> None:
    with mail_server(user="alerts", password="right-pass") as server:
        mailer = _plain(server, user="alerts", password="wrong-pass-123")
        with pytest.raises(MailAuthFailed) as failure:
            mailer.send(OutgoingMail(to=("anna@agency.test",), subject="x", text="y"))
        assert server.received() == []
    message = str(failure.value)
    assert "ALLEGRO_ADS_SMTP_USER" in message and "ALLEGRO_ADS_SMTP_PASSWORD" in message
    assert "wrong-pass-123" not in message and "wrong-pass-123" not in repr(mailer.config)


def test_nobody_listening_says_the_connection_was_refused_and_what_to_check() -> None:
    port = free_port()
    mailer = Mailer(MailConfig("127.0.0.1", port, "none", SENDER))
    with pytest.raises(MailConnectionFailed) as failure:
        mailer.check()
    message = str(failure.value)
    assert f"127.0.0.1:{port} refused the connection" in message
    assert "ALLEGRO_ADS_SMTP_HOST" in message and "ALLEGRO_ADS_SMTP_PORT" in message


def test_starttls_asked_of_a_server_without_it_says_which_setting_to_change(
    smtp: MailServer,
) -> None:
    mailer = Mailer(MailConfig(smtp.host, smtp.port, "starttls", SENDER))
    with pytest.raises(MailSecurityFailed, match=r"does not offer STARTTLS.*SMTP_SECURITY"):
        mailer.check()


def test_nothing_is_sent_when_no_mail_server_is_set() -> None:
    assert mailer_from(settings_from()) is None


def test_the_settings_build_a_mailer_on_the_security_standard_port() -> None:
    mailer = mailer_from(
        settings_from(smtp_host="mail.agency.test", smtp_security="tls", mail_from=SENDER)
    )
    assert mailer is not None
    assert (mailer.config.host, mailer.config.port, mailer.config.security) == (
        "mail.agency.test",
        465,
        "tls",
    )


def test_a_mail_server_without_a_sender_fails_at_start_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="ALLEGRO_ADS_MAIL_FROM"):
        settings_from(smtp_host="mail.agency.test")


def test_an_alert_list_with_a_typo_fails_at_start() -> None:
    with pytest.raises(ConfigError, match=r"ALLEGRO_ADS_ALERT_EMAILS.*'anna-agency\.test'"):
        settings_from(alert_emails="piotr@agency.test, anna-agency.test")


def test_the_password_is_not_shown_with_the_settings() -> None:
    settings = settings_from(
        smtp_host="mail.agency.test", mail_from=SENDER, smtp_user="u", smtp_password="pw-9876"
    )
    assert "pw-9876" not in repr(settings) and "pw-9876" not in str(settings.model_dump())


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_message_goes_encrypted_over_starttls_and_tls(security: str) -> None:
    with mail_server(security=security, user="alerts", password="pw-1") as server:  # type: ignore[arg-type]
        config = MailConfig(
            server.host,
            server.port,
            security,  # type: ignore[arg-type]
            SENDER,
            user="alerts",
            password="pw-1",
            tls_context=server.client_tls,
        )
        Mailer(config).send(OutgoingMail(to=("anna@agency.test",), subject="s", text="t"))
        [received] = server.wait_for(1)
    assert received.encrypted


def test_a_certificate_the_machine_does_not_trust_is_refused_naming_the_certificate() -> None:
    with mail_server(security="starttls") as server:
        mailer = Mailer(MailConfig(server.host, server.port, "starttls", SENDER))
        with pytest.raises(MailSecurityFailed, match="certificate"):
            mailer.check()
        assert server.received() == []


def test_tls_asked_of_a_plain_server_fails_with_what_to_check(smtp: MailServer) -> None:
    mailer = Mailer(MailConfig(smtp.host, smtp.port, "tls", SENDER))
    with pytest.raises(MailSecurityFailed, match="ALLEGRO_ADS_SMTP_SECURITY"):
        mailer.check()
