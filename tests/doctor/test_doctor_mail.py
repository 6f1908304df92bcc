"""``allegro-ads doctor`` on mail: unset it says nothing will be sent; set wrong (nobody
listening, a refused sign-in) it fails naming the setting; set right (a real SMTP server on
loopback) it passes, having sent nothing."""

from __future__ import annotations

import pytest

from allegro_ads.cli import main
from allegro_ads.doctor import check_mail
from settings.config import load_settings
from testing.mail_server import free_port, mail_server


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ALLEGRO_ADS_SMTP_SECURITY", "none")
    monkeypatch.setenv("ALLEGRO_ADS_MAIL_FROM", "allegro-ads@agency.test")
    monkeypatch.setenv("ALLEGRO_ADS_ALERT_EMAILS", "anna@agency.test,piotr@agency.test")
    return monkeypatch


def test_unset_mail_passes_and_says_nothing_will_be_sent() -> None:
    [finding] = check_mail(load_settings())
    assert finding.ok
    assert finding.detail == "not set: no alert, consent-link or report e-mail will be sent"
    assert "ALLEGRO_ADS_SMTP_HOST" in finding.fix


def test_a_refused_connection_fails_doctor_with_what_to_check(
    mail_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    mail_env.setenv("ALLEGRO_ADS_SMTP_HOST", "127.0.0.1")
    mail_env.setenv("ALLEGRO_ADS_SMTP_PORT", str(port))

    [finding] = check_mail(load_settings())

    assert not finding.ok
    assert f"127.0.0.1:{port} refused the connection" in finding.detail
    assert "ALLEGRO_ADS_SMTP_HOST" in finding.detail
    assert main(["doctor", "--timeout", "5"]) == 1
    assert "refused the connection" in capsys.readouterr().out


def test_a_refused_sign_in_fails_naming_user_and_password_but_never_the_password(
    mail_env: pytest.MonkeyPatch,
) -> None:
    with mail_server(user="alerts", password="right-one") as server:
        mail_env.setenv("ALLEGRO_ADS_SMTP_HOST", server.host)
        mail_env.setenv("ALLEGRO_ADS_SMTP_PORT", str(server.port))
        mail_env.setenv("ALLEGRO_ADS_SMTP_USER", "alerts")
        mail_env.setenv("ALLEGRO_ADS_SMTP_PASSWORD", "wrong-one-77")
        [finding] = check_mail(load_settings())
    assert not finding.ok and "ALLEGRO_ADS_SMTP_PASSWORD" in finding.detail
    assert "wrong-one-77" not in finding.detail + finding.fix


def test_a_working_server_passes_sends_nothing_and_names_the_alert_recipients(
    mail_env: pytest.MonkeyPatch,
) -> None:
    with mail_server(user="alerts", password="right-one") as server:
        mail_env.setenv("ALLEGRO_ADS_SMTP_HOST", server.host)
        mail_env.setenv("ALLEGRO_ADS_SMTP_PORT", str(server.port))
        mail_env.setenv("ALLEGRO_ADS_SMTP_USER", "alerts")
        mail_env.setenv("ALLEGRO_ADS_SMTP_PASSWORD", "right-one")
        mail_env.setenv("ALLEGRO_ADS_ALERT_WEBHOOK_URL", "https://hooks.slack.test/T0/B0/secret9")
        findings = {f.check: f for f in check_mail(load_settings())}
        assert server.received() == []
    assert findings["mail"].ok
    assert findings["mail"].detail == (
        f"{server.host}:{server.port} (none, signed in as alerts) answers; "
        "from allegro-ads@agency.test"
    )
    assert findings["alerts"].ok
    assert findings["alerts"].detail == (
        "to anna@agency.test, piotr@agency.test and the webhook at hooks.slack.test"
    )
