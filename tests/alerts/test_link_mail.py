"""E-mailing a consent link (``services.link_mail``): to the customer's contact address, in
Polish and English, from the agency by name, stating how long the link works; nothing is issued
without an address, and a link whose e-mail failed is revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from control_store import auth_links, customers
from services.link_mail import NoContactAddress, lifetime_en, lifetime_pl, send_link
from services.mail import MailConfig, MailConnectionFailed, Mailer
from testing.mail_server import MailServer, free_port
from tests.alerts.fixtures import AGENCY, OTHER, SHOP, AlertWorld


def _mailer(server: MailServer) -> Mailer:
    return Mailer(MailConfig(server.host, server.port, "none", "biuro@agency.test"))


def test_the_link_goes_to_the_contact_address_in_polish_and_english_with_its_lifetime(
    world: AlertWorld,
) -> None:
    sent = send_link(
        world.control, _mailer(world.smtp), SHOP, created_by="anna", ttl=timedelta(days=3)
    )

    [mail] = world.smtp.wait_for(1)
    assert mail.recipients == ("kontakt@sklep-laka.pl",) == (sent.to,)
    assert mail.subject == f"{AGENCY}: połącz konto Allegro / connect your Allegro account"
    assert sent.issued.url in mail.text
    assert f"{AGENCY} prosi o połączenie konta sprzedawcy Allegro ({SHOP})" in mail.text
    assert "Link jest ważny przez 3 dni" in mail.text
    assert f"{AGENCY} asks you to connect your Allegro seller account ({SHOP})" in mail.text
    assert "The link is valid for 3 days" in mail.text


def test_without_a_contact_address_nothing_is_issued_and_the_fix_is_named(
    world: AlertWorld,
) -> None:
    with pytest.raises(NoContactAddress, match=f"customers contact {world.other_id} EMAIL"):
        send_link(world.control, _mailer(world.smtp), OTHER, created_by="anna")
    assert auth_links.list_links(world.control.engine, world.other_id) == []


def test_a_link_whose_email_failed_is_revoked(world: AlertWorld) -> None:
    down = Mailer(MailConfig("127.0.0.1", free_port(), "none", "biuro@agency.test"))
    with pytest.raises(MailConnectionFailed):
        send_link(world.control, down, SHOP, created_by="anna")
    [link] = auth_links.list_links(world.control.engine, world.shop_id)
    assert link.revoked_at is not None


def test_a_contact_address_must_be_an_address(world: AlertWorld) -> None:
    with pytest.raises(ValueError, match="is not an email address"):
        customers.set_contact_email(world.control.engine, SHOP, "kontakt w sklepie")


@pytest.mark.parametrize(
    ("lifetime", "polish", "english"),
    [
        (timedelta(hours=1), "1 godzinę", "1 hour"),
        (timedelta(hours=2), "2 godziny", "2 hours"),
        (timedelta(hours=12), "12 godzin", "12 hours"),
        (timedelta(hours=22), "22 godziny", "22 hours"),
        (timedelta(days=1), "1 dzień", "1 day"),
        (timedelta(days=7), "7 dni", "7 days"),
        (timedelta(minutes=90), "90 minut", "90 minutes"),
    ],
)
def test_lifetimes_read_naturally_in_both_languages(
    lifetime: timedelta, polish: str, english: str
) -> None:
    assert (lifetime_pl(lifetime), lifetime_en(lifetime)) == (polish, english)
