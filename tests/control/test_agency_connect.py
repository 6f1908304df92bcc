"""Connecting an agency account through the service functions the CLI and the portal call
(``services.agency_connect``), against the simulator: the device flow confirmed on its
``/_sim/device/confirm``, its clock moved instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from allegro_resource.errors import Forbidden
from control_store import agency_accounts, agency_clients, customers
from control_store.database import Conflict, upgrade
from services.control import Control, open_control
from settings.config import load_settings
from simulator.server import RunningSimulator
from testing.simulated_agency import connect_agency
from testing.simulated_consent import consent_as_seller


@pytest.fixture
def control(
    simulator: RunningSimulator, isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Control]:
    """An upgraded SQLite control store, with the simulator as Allegro."""
    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", simulator.base_url)
    monkeypatch.setenv("ALLEGRO_ADS_API_URL", simulator.base_url)
    isolated_settings.mkdir(parents=True)
    url = f"sqlite:///{isolated_settings / 'control.db'}"
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", url)
    upgrade(url)
    with open_control(load_settings()) as opened:
        yield opened


def test_an_allegro_account_connected_as_another_agency_account_is_refused(
    control: Control, simulator: RunningSimulator
) -> None:
    first = connect_agency(control, simulator, "Pierwsza")

    with pytest.raises(Conflict, match="already connected as agency account Pierwsza"):
        connect_agency(control, simulator, "Druga")

    second = agency_accounts.find_agency_account(control.engine, "Druga")
    assert second.allegro_user_id is None
    assert control.tokens.info(second.id) is None
    assert [info.account_id for info in control.tokens.list_info()] == [first.id]


def test_a_seller_account_connected_as_agency_cannot_list_clients_and_records_none(
    control: Control, simulator: RunningSimulator
) -> None:
    seller = str(simulator.users()[0]["login"])

    with pytest.raises(Forbidden) as refused:
        connect_agency(control, simulator, "Pomyłka", login=seller)

    assert "is not an agency account of an Allegro Ads Partner" in str(refused.value)
    account = agency_accounts.find_agency_account(control.engine, "Pomyłka")
    assert agency_clients.clients_of(control.engine, account.id) == []


def test_connecting_again_restores_a_revoked_agency_connection(
    control: Control, simulator: RunningSimulator
) -> None:
    account = connect_agency(control, simulator, "Agencja")
    control.tokens.revoke(account.id, "consent withdrawn at Allegro")

    again = connect_agency(control, simulator, "Agencja")

    assert again.id == account.id
    info = control.tokens.info(account.id)
    assert info is not None and (info.status, info.last_error) == ("connected", None)
    assert len(agency_clients.clients_of(control.engine, account.id)) == len(
        simulator.agency()["clients"]
    )


def test_a_customers_sales_account_is_refused_as_an_agency_account(
    control: Control, simulator: RunningSimulator
) -> None:
    seller = str(simulator.users()[0]["login"])
    customer = customers.create_customer(control.engine, "Sklep Sprzedawcy")
    consent_as_seller(control, customer.id, seller)

    with pytest.raises(Conflict, match="is the sales account of customer Sklep Sprzedawcy"):
        connect_agency(control, simulator, "Pomyłka", login=seller)

    account = agency_accounts.find_agency_account(control.engine, "Pomyłka")
    assert account.allegro_user_id is None
    assert control.tokens.info(account.id) is None
