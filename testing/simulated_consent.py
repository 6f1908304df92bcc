"""A consent without a browser or web server, against the simulator (tests, benchmarks).

The same service functions the web app calls (``issue_link``, ``begin_consent``,
``finish_consent``), with the seller's approval given on the simulator's consent page.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from allegro_resource.oauth import OAuthClient
from control_store.customers import Customer
from services.clients import oauth_client
from services.consent import begin_consent, finish_consent
from services.control import Control
from services.links import issue_link
from simulator.browser import answer_consent_page


def token_from_url(url_or_token: str) -> str:
    """The token part of a consent URL (or the token itself)."""
    return url_or_token.rstrip("/").rsplit("/authorize/", 1)[-1]


class SimulatedConsentFailed(RuntimeError):
    """The simulator's consent page did not send the seller back with a code."""


def consent_as_seller(
    control: Control,
    customer_id: str,
    login: str,
    *,
    oauth: OAuthClient | None = None,
    browser: requests.Session | None = None,
) -> Customer:
    """Connect ``customer_id`` as the simulator's seller ``login``: new link, approve, finish."""
    oauth = oauth or oauth_client(control.settings)
    link = issue_link(control, customer_id, created_by="simulated-consent")
    allegro_url = begin_consent(control, oauth, token_from_url(link.url))
    http = browser or requests.Session()
    try:
        page = http.get(allegro_url, timeout=30)
        page.raise_for_status()
        answer = answer_consent_page(http, page, login, "approve", follow_redirects=False)
    finally:
        if browser is None:
            http.close()
    location = answer.headers.get("Location", "")
    query = parse_qs(urlsplit(location).query)
    if answer.status_code not in (302, 303) or "code" not in query:
        raise SimulatedConsentFailed(f"consent of {login} answered {answer.status_code}")
    if not location.startswith(control.settings.redirect_uri):
        raise SimulatedConsentFailed(f"consent of {login} redirected to {location}")
    return finish_consent(control, oauth, state=query["state"][0], code=query["code"][0])
