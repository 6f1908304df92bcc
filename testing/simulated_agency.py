"""Connecting an agency account against the simulator without a terminal or a browser (tests,
benchmarks), through the same service functions the product calls:

- ``connect_agency``: the CLI's device flow (``start_device_connect``, ``finish_device_connect``,
  ``record_clients_now``), the code confirmed through ``/_sim/device/confirm`` and the polling
  interval passed on the simulator's clock instead of slept;
- ``connect_agency_as``: the portal's code flow (``begin_agency_consent``,
  ``finish_agency_consent``), approved on the simulator's consent page as the agency's login.
"""

from __future__ import annotations

from contextlib import closing
from urllib.parse import parse_qs, urlsplit

import requests

from control_store import agency_clients
from control_store.agency_accounts import AgencyAccount
from control_store.customers import Customer
from services import clients
from services.agency_connect import (
    begin_agency_consent,
    connection_client,
    finish_agency_consent,
    finish_device_connect,
    record_clients_now,
    start_device_connect,
)
from services.control import Control
from simulator.browser import answer_consent_page
from simulator.remote import SimulatorControl


def connect_agency(
    control: Control,
    simulator: SimulatorControl,
    name: str = "Agencja",
    *,
    login: str | None = None,
) -> AgencyAccount:
    """Connect the agency account ``name`` as the simulator's agency ``login`` (default: the
    first one) and list its clients, as the CLI does."""
    login = login or str(simulator.agency()["login"])
    with (
        closing(clients.oauth_client(control.settings)) as oauth,
        connection_client(control, oauth) as api,
    ):
        pending = start_device_connect(control, oauth, name)
        simulator.confirm_device(pending.user_code, login)
        account = finish_device_connect(control, oauth, api, pending, sleep=simulator.advance)
        record_clients_now(control, api, account.id)
    return account


def adopt_seller(
    control: Control, simulator: SimulatorControl, account: AgencyAccount, login: str
) -> Customer:
    """Adopt the simulated seller ``login``'s agency client as a customer named ``login``."""
    (seller,) = [user for user in simulator.users() if user["login"] == login]
    return agency_clients.adopt_client(
        control.engine, account.id, str(seller["ads_client_id"]), name=login
    )


class SimulatedAgencyConsentFailed(RuntimeError):
    """The simulator's consent page did not send the agency account back with a code."""


def connect_agency_as(
    control: Control, agency_account_id: str, user_id: str, login: str
) -> AgencyAccount:
    """Connect ``agency_account_id`` as the simulator's agency account ``login``, begun and
    finished by the portal user ``user_id``."""
    settings = control.settings
    with closing(clients.oauth_client(settings)) as oauth, requests.Session() as http:
        url = begin_agency_consent(control, oauth, agency_account_id, user_id)
        page = http.get(url, timeout=30)
        page.raise_for_status()
        answer = answer_consent_page(http, page, login, "approve", follow_redirects=False)
        location = answer.headers.get("Location", "")
        query = parse_qs(urlsplit(location).query)
        if answer.status_code not in (302, 303) or "code" not in query:
            raise SimulatedAgencyConsentFailed(f"consent of {login} answered {answer.status_code}")
        return finish_agency_consent(
            control, oauth, state=query["state"][0], code=query["code"][0], user_id=user_id
        )
