"""An agency account connected without a terminal, against the simulator (tests, benchmarks).

The same service functions ``allegro-ads agency connect`` calls (``start_device_connect``,
``finish_device_connect``, ``record_clients_now``), with the code confirmed through the
simulator's ``/_sim/device/confirm`` and the polling interval passed on the simulator's clock
instead of slept.
"""

from __future__ import annotations

from contextlib import closing

from control_store import agency_clients
from control_store.agency_accounts import AgencyAccount
from control_store.customers import Customer
from services.agency_connect import (
    connection_client,
    finish_device_connect,
    record_clients_now,
    start_device_connect,
)
from services.clients import oauth_client
from services.control import Control
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
        closing(oauth_client(control.settings)) as oauth,
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
