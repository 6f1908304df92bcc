"""An agency's control store as alerts see it, built directly (no Allegro needed): one agency
account connected with two linked customers (one in a portfolio with its own alert address, one
with its own sales connection), and switches that break and mend what alerts watch.

Tokens and secrets here are distinctive strings, so a test can look for them in every message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from allegro_resource.models import TokenSet
from control_store import agency_accounts, agency_clients, customers, portfolios
from control_store.database import upgrade
from services.alert_delivery import AlertChannels
from services.alert_rules import FailedRun
from services.alert_sweep import AlertConfig, Told, gather_snapshot, sweep
from services.control import Control, open_control
from services.mail import MailConfig, Mailer
from settings.config import settings_from
from testing.mail_server import MailServer, mail_server
from testing.webhook_receiver import WebhookReceiver, webhook_receiver

AGENCY = "Agencja Północ"
SHOP = "Sklep Łąka"  # in portfolio Moda, with a sales connection and a contact address
OTHER = "Sklep Bór"
STAFF = ("anna@agency.test", "piotr@agency.test")
MODA_ADDRESS = "moda-alerty@agency.test"
PUBLIC_URL = "https://ads.agency.test"
SMTP_PASSWORD = "smtp-pass-Zq81x"
SIGNING_KEY = "signing-key-Kw9vX2mQ7rT4yU1pL6nB3cV8"
CLIENT_SECRET = "client-secret-Hy7uJ3kL9"
T0 = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def token_set(label: str) -> TokenSet:
    return TokenSet(
        access_token=f"ACCESS-{label}-a8f3e2",
        refresh_token=f"REFRESH-{label}-b7d1c9",
        expires_at=T0 + timedelta(hours=12),
        scope="allegro:api:ads",
    )


@dataclass
class AlertWorld:
    control: Control
    agency_id: str
    shop_id: str
    other_id: str
    smtp: MailServer
    webhook: WebhookReceiver
    now: datetime = T0

    def channels(self, *, mail: bool = True, webhook: bool = True) -> AlertChannels:
        mailer = Mailer(MailConfig(self.smtp.host, self.smtp.port, "none", "alerty@agency.test"))
        return AlertChannels(
            mailer=mailer if mail else None,
            staff=STAFF,
            webhook_url=self.webhook.url if webhook else "",
            agency_name=AGENCY,
            secrets=(SMTP_PASSWORD, SIGNING_KEY, CLIENT_SECRET, self.webhook.url),
        )

    def config(self) -> AlertConfig:
        return AlertConfig(PUBLIC_URL, expiring_days=7, reporting_timezone="Europe/Warsaw")

    def sweep(
        self, channels: AlertChannels | None = None, failed_runs: tuple[FailedRun, ...] = ()
    ) -> list[Told]:
        """One pass, as the sensor makes it (every customer loaded up to yesterday)."""
        snapshot = gather_snapshot(
            self.control,
            self.config(),
            self.now,
            latest_days=self.loaded_yesterday,
            failed_runs=failed_runs,
        )
        return sweep(self.control, channels or self.channels(), snapshot)

    def loaded_yesterday(self, ids: Sequence[str]) -> dict[str, date | None]:
        yesterday = (self.now - timedelta(days=1)).date()
        return {customer_id: yesterday for customer_id in ids}

    def later(self, hours: float = 1) -> None:
        self.now += timedelta(hours=hours)

    def break_agency(self) -> None:
        """Allegro refused the agency account's refresh token (consent withdrawn)."""
        with self.control.tokens.locked(self.agency_id) as locked:
            locked.mark_needs_reauth("invalid_grant: consent withdrawn", self.now)

    def mend_agency(self) -> None:
        self.control.tokens.save_agency_connection(
            self.agency_id,
            token_set("agency-2"),
            allegro_login="agency",
            allegro_user_id="900",
            now=self.now,
        )

    def break_sales(self) -> None:
        with self.control.tokens.locked(self.shop_id) as locked:
            locked.mark_needs_reauth("invalid_grant: consent withdrawn", self.now)

    def remove_client(self, client_id: str = "client-2") -> None:
        """The agency's next client listing lacks ``client_id`` (the seller ended access)."""
        kept = [("client-1", SHOP), ("client-2", OTHER)]
        listing = [pair for pair in kept if pair[0] != client_id]
        agency_clients.record_client_listing(self.control.engine, self.agency_id, listing, self.now)


def build_world(folder: Path, smtp: MailServer, webhook: WebhookReceiver) -> AlertWorld:
    """A fresh control store in ``folder`` with the agency, its customers and connections."""
    settings = settings_from(
        control_url=f"sqlite:///{folder / 'control.db'}",
        data_dir=folder,
        token_keys=Fernet.generate_key().decode(),
        agency_name=AGENCY,
        public_url=PUBLIC_URL,
        signing_key=SIGNING_KEY,
    )
    upgrade(settings.resolved_control_url)
    control = open_control(settings)
    engine = control.engine
    agency = agency_accounts.create_agency_account(engine, AGENCY)
    control.tokens.save_agency_connection(
        agency.id, token_set("agency"), allegro_login="agency", allegro_user_id="900", now=T0
    )
    agency_clients.record_client_listing(
        engine, agency.id, [("client-1", SHOP), ("client-2", OTHER)], T0
    )
    moda = portfolios.create_portfolio(engine, "Moda")
    portfolios.set_alert_email(engine, moda.id, MODA_ADDRESS)
    shop = agency_clients.adopt_client(engine, agency.id, "client-1", portfolio=moda.id)
    other = agency_clients.adopt_client(engine, agency.id, "client-2")
    customers.set_contact_email(engine, shop.id, "kontakt@sklep-laka.pl")
    control.tokens.save_consent(
        shop.id, token_set("shop"), allegro_login="laka", allegro_user_id="u-1", now=T0
    )
    return AlertWorld(control, agency.id, shop.id, other.id, smtp, webhook)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AlertWorld]:
    with mail_server() as smtp, webhook_receiver() as webhook:
        built = build_world(tmp_path, smtp, webhook)
        yield built
        built.control.close()
