"""The portal's "Send a new link" and contact address (admins, POST with the portal's CSRF
token): the link is e-mailed to the customer, never shown; without the token nothing is sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from authorize_app.app import create_app
from authorize_app.server import start_in_thread
from control_store import auth_links, customers, users
from control_store.database import upgrade
from services.control import Control, open_control
from settings.config import Settings
from testing.mail_server import MailServer, mail_server
from tests.portal.portal_helpers import HTTP_TIMEOUT, csrf_of, page_csrf, post

ADMIN, PASSWORD = "admin@agency.test", "correct horse battery"


@dataclass
class Portal:
    url: str
    control: Control
    smtp: MailServer
    http: requests.Session
    customer_id: str

    def page(self, path: str = "") -> str:
        return f"{self.url}/portal{path}"


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    """The portal with a mail server on loopback, an admin signed in, and one customer."""
    with mail_server() as smtp:
        server = start_in_thread(create_app(_settings(tmp_path, smtp)))
        settings = _settings(tmp_path, smtp, public_url=server.url)
        control = open_control(settings)
        users.create_user(control.engine, ADMIN, PASSWORD, "admin")
        customer = customers.create_customer(control.engine, "Sklep Wrzos")
        http = requests.Session()
        form = http.get(f"{server.url}/portal/login", timeout=HTTP_TIMEOUT)
        fields = {"email": ADMIN, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
        assert post(http, f"{server.url}/portal/login", fields).status_code == 303
        try:
            yield Portal(server.url, control, smtp, http, customer.id)
        finally:
            http.close()
            control.close()
            server.stop()


def _settings(folder: Path, smtp: MailServer, public_url: str = "http://127.0.0.1") -> Settings:
    keys = folder / "keys"
    if not keys.exists():
        keys.write_text(Fernet.generate_key().decode())
    settings = Settings(
        data_dir=folder,
        control_url=f"sqlite:///{folder / 'control.db'}",
        public_url=public_url,
        agency_name="Agencja Wrzesień",
        token_keys=keys.read_text(),
        signing_key="alerts-portal-tests-signing-key-0123456789",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        mail_from="biuro@agency.test",
    )
    upgrade(settings.resolved_control_url)
    return settings


def test_an_admin_sets_the_contact_address_and_sends_a_new_link_by_email(portal: Portal) -> None:
    detail = portal.page(f"/customers/{portal.customer_id}")
    token = page_csrf(portal.http, detail)
    saved = post(
        portal.http,
        portal.page(f"/customers/{portal.customer_id}/contact"),
        {"contact_email": "wrzos@sklep.pl", "csrf_token": token},
    )
    assert saved.status_code == 303

    sent = post(
        portal.http,
        portal.page(f"/customers/{portal.customer_id}/links/send"),
        {"csrf_token": token},
    )

    assert sent.status_code == 200
    assert "e-mailed to <strong>wrzos@sklep.pl</strong>" in sent.text
    [link] = auth_links.list_links(portal.control.engine, portal.customer_id)
    [mail] = portal.smtp.wait_for(1)
    assert mail.recipients == ("wrzos@sklep.pl",)
    assert "Agencja Wrzesień" in mail.subject and "ważny przez 3 dni" in mail.text
    assert link.id not in sent.text  # the page never shows the link itself


def test_without_the_csrf_token_no_link_is_sent(portal: Portal) -> None:
    customers.set_contact_email(portal.control.engine, portal.customer_id, "wrzos@sklep.pl")
    refused = post(portal.http, portal.page(f"/customers/{portal.customer_id}/links/send"))
    assert refused.status_code == 403
    assert auth_links.list_links(portal.control.engine, portal.customer_id) == []
    assert portal.smtp.received() == []


def test_sending_without_a_contact_address_says_how_to_set_one(portal: Portal) -> None:
    token = page_csrf(portal.http, portal.page(f"/customers/{portal.customer_id}"))
    refused = post(
        portal.http,
        portal.page(f"/customers/{portal.customer_id}/links/send"),
        {"csrf_token": token},
    )
    assert refused.status_code == 409
    assert "has no contact address" in refused.text
    assert portal.smtp.received() == []
