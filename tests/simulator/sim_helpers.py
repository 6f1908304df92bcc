"""Helpers for the simulator's contract tests (fixtures are in conftest.py): drive the
consent page over HTTP like a browser, exchange codes, call the API with the right headers,
and check answers against the shapes allegro-api.md gives (never against our client's models:
the simulator follows the page).

``consent(base_url, login)`` is the one-call version: it returns the token endpoint's JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from simulator.entities import client_structure
from simulator.server import RunningSimulator
from simulator.state import SimulatorConfig

DEFAULTS = SimulatorConfig()
CLIENT_ID = DEFAULTS.client_id
CLIENT_SECRET = DEFAULTS.client_secret
CLIENT_AUTH = (CLIENT_ID, CLIENT_SECRET)
REDIRECT_URI = DEFAULTS.redirect_uris[0]
PASSWORD = DEFAULTS.password
PUBLIC = "application/vnd.allegro.public.v1+json"
BETA = "application/vnd.allegro.beta.v1+json"
TIMEOUT = 10
CLIENTS_PATH = "/advertising-agencies/clients"
OFFERS_PATH = "/sale/offers"
SPONSORED_FIELDS = {
    "views": int, "clicks": int, "interest": int, "totalAttributionCount": int,
    "totalCost": str, "ctr": str, "totalAttributionValue": str, "effectiveCpc": str,
    "rateOfReturn": str,
}  # fmt: skip
GRAPHIC_FIELDS = {
    "views": int, "clicks": int, "interest": int, "totalAttributionCount": int,
    "uniqueReach": int, "totalCost": str, "ctr": str, "totalAttributionValue": str,
    "effectiveCpm": str, "rateOfReturn": str, "attributedToCoreValue": str,
}  # fmt: skip
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


@dataclass
class Form:
    """What a browser sees of the first form on a page."""

    action: str = ""
    method: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # names of visible inputs
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value)
    error: str = ""


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = Form()
        self._error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.form.method:
            self.form.action, self.form.method = a.get("action", ""), a.get("method", "get")
        elif tag == "input" and a.get("type") == "hidden":
            self.form.hidden[a["name"]] = a.get("value", "")
        elif tag == "input":
            self.form.inputs.append(a.get("name", ""))
        elif tag == "button":
            self.form.buttons.append((a.get("name", ""), a.get("value", "")))
        elif tag == "p" and "error" in a.get("class", ""):
            self._error = True

    def handle_data(self, data: str) -> None:
        if self._error:
            self.form.error += data

    def handle_endtag(self, tag: str) -> None:
        self._error = self._error and tag != "p"


def read_form(html: str) -> Form:
    """The first form of ``html``."""
    parser = _FormParser()
    parser.feed(html)
    return parser.form


def pkce_pair() -> tuple[str, str]:
    """A PKCE (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(
    base_url: str,
    *,
    client_id: str = CLIENT_ID,
    redirect_uri: str = REDIRECT_URI,
    state: str = "st-123",
    challenge: str | None = None,
    scope: str | None = None,
) -> str:
    """The URL an application sends the customer's browser to."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    if scope:
        params["scope"] = scope
    return f"{base_url}/auth/oauth/authorize?{urlencode(params)}"


def submit_consent(
    url: str, login: str, decision: str = "approve", password: str | None = PASSWORD
) -> requests.Response:
    """GET the consent page at ``url``, fill in ``login`` and ``password`` (None: leave it
    out), press ``decision`` (no redirects)."""
    with requests.Session() as http:
        page = http.get(url, timeout=TIMEOUT)
        assert page.status_code == 200, page.text
        form = read_form(page.text)
        target = requests.compat.urljoin(url, form.action)
        fields = {**form.hidden, "login": login, "decision": decision}
        if password is not None:
            fields["password"] = password
        return http.post(target, data=fields, allow_redirects=False, timeout=TIMEOUT)


def redirect_query(response: requests.Response) -> dict[str, str]:
    """The query of a 302's Location, one value per key."""
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def get_code(base_url: str, login: str, challenge: str | None = None, **kw: Any) -> str:
    """Consent as ``login`` and return the authorization code."""
    answer = submit_consent(authorize_url(base_url, challenge=challenge, **kw), login)
    return redirect_query(answer)["code"]


def token_request(
    base_url: str, data: dict[str, str], auth: tuple[str, str] | None = CLIENT_AUTH
) -> requests.Response:
    """POST the token endpoint with Basic client auth."""
    return requests.post(f"{base_url}/auth/oauth/token", data=data, auth=auth, timeout=TIMEOUT)


def exchange(
    base_url: str, code: str, verifier: str | None = None, redirect_uri: str = REDIRECT_URI
) -> requests.Response:
    """Exchange an authorization code."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    return token_request(base_url, data)


def refresh(base_url: str, refresh_token: str) -> requests.Response:
    """Use a refresh token."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(base_url, data)


def consent(
    base_url: str, login: str, *, pkce: bool = True, scope: str | None = None
) -> dict[str, Any]:
    """The whole authorization-code flow (PKCE by default) as ``login``: the token JSON."""
    verifier, challenge = pkce_pair() if pkce else (None, None)
    answer = exchange(base_url, get_code(base_url, login, challenge, scope=scope), verifier)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT (unverified)."""
    part = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims


def api_get(
    base_url: str,
    path: str,
    token: str | None,
    params: Any = None,
    accept: str | None = PUBLIC,
) -> requests.Response:
    """GET an API path with a bearer token and the Allegro media type."""
    headers = {"Accept": accept} if accept else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{base_url}{path}", headers=headers, params=params, timeout=TIMEOUT)


def stats_params(start: date, end: date, *types: str) -> dict[str, Any]:
    """The statistics query for [start, end]."""
    params: dict[str, Any] = {
        "statistics.gte": start.isoformat(),
        "statistics.lte": end.isoformat(),
    }
    if types:
        params["types"] = list(types)
    return params


def assert_error_shape(
    response: requests.Response, status: int, path: str | None = None, code: str | None = None
) -> None:
    """``response`` is Allegro's REST error body with ``status`` (naming ``path`` and having
    ``code`` if given)."""
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert errors and all(
        set(e) == {"code", "message", "details", "path", "userMessage"} for e in errors
    )
    if path is not None:
        assert path in [e["path"] for e in errors], errors
    if code is not None:
        assert code in [e["code"] for e in errors], errors


def assert_forbidden(response: requests.Response) -> None:
    """The page's 403: ``{"errors": [{"code": "FORBIDDEN", "message": "Access is forbidden",
    "details": null, "path": <request path>, "userMessage": "Access is forbidden"}]}``."""
    assert response.status_code == 403, response.text
    path = urlsplit(response.url).path
    assert response.json() == {
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": "Access is forbidden",
                "details": None,
                "path": path,
                "userMessage": "Access is forbidden",
            }
        ]
    }


def assert_oauth_error(response: requests.Response, status: int, error: str) -> None:
    """An OAuth-style error: ``{"error": error, "error_description": …}`` with ``status``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error and body["error_description"], body


def assert_token_expired(response: requests.Response, token: str) -> None:
    """The API's 401 for a token past its exp, replaced by a refresh or revoked."""
    assert_oauth_error(response, 401, "invalid_token")
    assert response.json()["error_description"] == f"Access token expired: {token}"


def is_decimal_string(value: object) -> bool:
    """A JSON decimal string as the page has them: "12.30", never a number."""
    return isinstance(value, str) and bool(_DECIMAL.match(value))


def assert_day_data(data: dict[str, Any], graphic: bool) -> None:
    """One day's ``data`` has exactly the page's fields of its ad type, with their types."""
    fields = GRAPHIC_FIELDS if graphic else SPONSORED_FIELDS
    assert set(data) == set(fields), sorted(data)
    for name, kind in fields.items():
        if kind is int:
            assert type(data[name]) is int and data[name] >= 0, (name, data[name])
        else:
            assert is_decimal_string(data[name]), (name, data[name])


@dataclass
class Account:
    """A consented account (seller or agency): who it is and its tokens."""

    login: str
    ads_client_id: str
    tokens: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.tokens["access_token"])

    def stats_path(self, client_id: str | None = None) -> str:
        return f"{CLIENTS_PATH}/{client_id or self.ads_client_id}/statistics"


Seller = Account  # the name the earlier tests used


def stats_path(client_id: str) -> str:
    """The statistics path of agency client ``client_id``."""
    return f"{CLIENTS_PATH}/{client_id}/statistics"


def login_with_graphic_ads(sim: RunningSimulator, agency: str = "agency") -> str:
    """A seller, client of ``agency``, that runs both sponsored-offer and graphic campaigns."""
    for user in sim.users():
        structure = client_structure(sim.app.config.seed, user["ads_client_id"])
        if user["agency_login"] == agency and structure.ad_graphic.any():
            return str(user["login"])
    raise AssertionError("no seller runs graphic ads; use more users")


def client_of(sim: RunningSimulator, login: str) -> str:
    """The agency client id of seller ``login``."""
    return str(next(u["ads_client_id"] for u in sim.users() if u["login"] == login))


def sim_today(sim: RunningSimulator) -> date:
    """The simulator's today (today's data is never served)."""
    return sim.app.state.today()


def last_days(sim: RunningSimulator, days: int) -> tuple[date, date]:
    """The last ``days`` days that the API serves, ending yesterday."""
    yesterday = sim_today(sim) - timedelta(days=1)
    return yesterday - timedelta(days=days - 1), yesterday
