"""Connecting an agency account without a browser or web server, against the simulator (tests).

The same service functions the portal's "Connect agency account" calls
(``begin_agency_consent``, ``finish_agency_consent``), with the approval given on the
simulator's consent page as the agency account's login.
"""

from __future__ import annotations

from contextlib import closing
from functools import partial
from urllib.parse import parse_qs, urlsplit

import requests

from control_store.agency_accounts import AgencyAccount
from services import clients
from services.agency_connect import begin_agency_consent, finish_agency_consent
from services.control import Control
from simulator.browser import answer_consent_page


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
            control,
            oauth,
            partial(clients.ads_client, settings),
            state=query["state"][0],
            code=query["code"][0],
            user_id=user_id,
        )
