"""The command line of alerts and links: ``customers contact``, ``portfolios alert-email`` and
``links send`` (through a real SMTP server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from allegro_ads.cli import main
from control_store import auth_links, customers, portfolios
from control_store.database import make_engine
from settings.config import load_settings
from testing.mail_server import MailServer, mail_server


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(capsys: pytest.CaptureFixture[str]) -> Iterator[str]:
    """An upgraded control store with customer "Sklep Wrzos"; yields its id."""
    assert cli(capsys, "db", "upgrade")[0] == 0
    engine = make_engine(load_settings().resolved_control_url)
    yield customers.create_customer(engine, "Sklep Wrzos").id
    engine.dispose()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    with mail_server() as server:
        for name, value in server.product_settings("biuro@agency.test").items():
            monkeypatch.setenv(name, value)
        yield server


def test_links_send_emails_the_link_to_the_contact_address(
    capsys: pytest.CaptureFixture[str], store: str, smtp: MailServer
) -> None:
    assert cli(capsys, "customers", "contact", "Sklep Wrzos", "wrzos@sklep.pl")[0] == 0

    code, out, _ = cli(capsys, "links", "send", "Sklep Wrzos", "--ttl", "2d")

    assert code == 0 and "e-mailed link" in out and "to wrzos@sklep.pl" in out
    [mail] = smtp.wait_for(1)
    assert mail.recipients == ("wrzos@sklep.pl",)
    assert "ważny przez 2 dni" in mail.text and "valid for 2 days" in mail.text


def test_links_send_without_a_contact_address_fails_naming_the_command(
    capsys: pytest.CaptureFixture[str], store: str, smtp: MailServer
) -> None:
    code, _, err = cli(capsys, "links", "send", "Sklep Wrzos")
    assert code == 1
    assert f"set it with allegro-ads customers contact {store} EMAIL" in err
    assert smtp.received() == []


def test_links_send_without_a_mail_server_says_what_to_set_and_issues_nothing(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    cli(capsys, "customers", "contact", "Sklep Wrzos", "wrzos@sklep.pl")
    code, _, err = cli(capsys, "links", "send", "Sklep Wrzos")
    assert code == 1 and "set ALLEGRO_ADS_SMTP_HOST and ALLEGRO_ADS_MAIL_FROM" in err
    engine = make_engine(load_settings().resolved_control_url)
    assert auth_links.list_links(engine, store) == []
    engine.dispose()


def test_a_contact_address_is_shown_set_and_cleared(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    assert cli(capsys, "customers", "contact", store)[1] == "Sklep Wrzos: no contact address\n"
    cli(capsys, "customers", "contact", store, "Wrzos@Sklep.pl")
    assert cli(capsys, "customers", "contact", store)[1] == "Sklep Wrzos: wrzos@sklep.pl\n"
    cli(capsys, "customers", "contact", store, "--clear")
    assert cli(capsys, "customers", "contact", store)[1] == "Sklep Wrzos: no contact address\n"


def test_a_wrong_contact_address_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    code, _, err = cli(capsys, "customers", "contact", store, "wrzos at sklep")
    assert code == 1 and err.count("\n") == 1 and "is not an email address" in err


def test_a_portfolio_alert_address_is_set(capsys: pytest.CaptureFixture[str], store: str) -> None:
    cli(capsys, "portfolios", "add", "Moda")
    code, out, _ = cli(capsys, "portfolios", "alert-email", "Moda", "moda@agency.test")
    assert code == 0 and out == "portfolio Moda: alerts also to moda@agency.test\n"
    engine = make_engine(load_settings().resolved_control_url)
    assert [p.alert_email for p in portfolios.list_portfolios(engine)] == ["moda@agency.test"]
    engine.dispose()
