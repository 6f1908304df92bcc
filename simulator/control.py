"""The simulator-only endpoints under /_sim/ (unauthenticated JSON, for tests and the demo):
accounts (sellers, agencies), consents, truth (statistics and offers), faults, revocation,
revision, device confirmation, clock, counters, configuration. docs/simulator.md lists their
request and response shapes."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.data import served_statistics_json
from simulator.entities import AD_TYPES, SimUser
from simulator.offers import offer_json, seller_offers
from simulator.responses import json_response
from simulator.state import SimulatorState

# Request kinds always present in /_sim/stats, even at zero, so tests can compare directly.
REQUEST_KINDS = (
    "authorize",
    "token_code",
    "token_refresh",
    "token_device",
    "token_other",
    "device",
    "me",
    "clients",
    "statistics",
    "offers",
    "non_public",
)


def _user_json(user: SimUser, password: str) -> dict[str, Any]:
    return {
        "login": user.login,
        "password": password,
        "user_id": user.user_id,
        "ads_client_id": user.ads_client_id,
        "agency_login": user.agency_login,
        "name": user.name,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "agency": user.is_agency,
    }


def _bad(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def _json_body(request: Request) -> dict[str, Any] | Response:
    if not request.get_data():
        return {}
    try:
        body = json.loads(request.get_data())
    except ValueError:
        return _bad("the body is not JSON")
    return body if isinstance(body, dict) else _bad("the body must be a JSON object")


class ControlEndpoints:
    """Handlers of /_sim/…; all state lives in ``state``."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def rules(self) -> list[Rule]:
        """The URL rules, with bound handlers as endpoints."""
        return [
            Rule("/_sim/users", methods=["GET"], endpoint=self.users),
            Rule("/_sim/agency", methods=["GET"], endpoint=self.agency),
            Rule("/_sim/agencies", methods=["GET"], endpoint=self.agencies),
            Rule("/_sim/consents", methods=["GET"], endpoint=self.consents),
            Rule("/_sim/truth/<client_id>", methods=["GET"], endpoint=self.truth),
            Rule("/_sim/offers/<login>", methods=["GET"], endpoint=self.offers),
            Rule("/_sim/faults", methods=["GET", "POST"], endpoint=self.faults),
            Rule("/_sim/revoke", methods=["POST"], endpoint=self.revoke),
            Rule("/_sim/revise", methods=["GET", "POST"], endpoint=self.revise),
            Rule("/_sim/stats", methods=["GET"], endpoint=self.stats),
            Rule("/_sim/device/confirm", methods=["POST"], endpoint=self.device_confirm),
            Rule("/_sim/clock", methods=["GET", "POST"], endpoint=self.clock),
            Rule("/_sim/config", methods=["GET"], endpoint=self.config),
        ]

    def users(self, request: Request) -> Response:
        """The sellers, each with its agency client id and owning agency (agencies are at
        /_sim/agency and /_sim/agencies)."""
        password = self.state.config.password
        return json_response([_user_json(u, password) for u in self.state.sellers])

    def agency(self, request: Request) -> Response:
        """The first agency account (login "agency") with the client ids in its list now."""
        return json_response(self._agency_json(self.state.agency))

    def agencies(self, request: Request) -> Response:
        """Every agency account, each with the client ids in its list now."""
        return json_response([self._agency_json(a) for a in self.state.agencies])

    def _agency_json(self, agency: SimUser) -> dict[str, Any]:
        clients = [u.ads_client_id for u in self.state.clients_of(agency)]
        return {**_user_json(agency, self.state.config.password), "clients": clients}

    def consents(self, request: Request) -> Response:
        """The accounts that have approved the application now (revocation removes them)."""
        with self.state.lock:
            consents = list(self.state.consents.items())
        result = []
        for user_id, consent in consents:
            user = self.state.user_by_id(user_id)
            if user is not None:
                result.append(
                    {
                        "login": user.login,
                        "user_id": user_id,
                        "scope": consent.scope,
                        "granted_at": consent.granted_at,
                    }
                )
        return json_response(sorted(result, key=lambda c: str(c["login"])))

    def offers(self, request: Request, login: str) -> Response:
        """Every offer of a seller as /sale/offers renders it, unpaged and without faults."""
        user = self.state.user_by_login(login)
        if user is None:
            return _bad(f"unknown login {login!r}", 404)
        client = user.ads_client_id
        owned = seller_offers(self.state.config.seed, client) if client else ()
        return json_response(
            {"login": user.login, "ads_client_id": client, "offers": [offer_json(o) for o in owned]}
        )

    def truth(self, request: Request, client_id: str) -> Response:
        """What the statistics endpoint serves now for [from, to]: no range cap, no faults."""
        if self.state.seller_of_client(client_id) is None:
            return _bad(f"unknown ads client {client_id}", 404)
        try:
            start = date.fromisoformat(request.args["from"])
            end = date.fromisoformat(request.args["to"])
        except (KeyError, ValueError):
            return _bad("from and to are required dates (YYYY-MM-DD)")
        types = [t for v in request.args.getlist("types") for t in v.split(",") if t]
        types = types or list(AD_TYPES)
        if start > end or any(t not in AD_TYPES for t in types):
            return _bad(f"need from <= to and types among {list(AD_TYPES)}")
        today = self.state.today()
        body = served_statistics_json(
            client_id,
            start,
            min(end, today - timedelta(days=1)),
            today,
            self.state.revision,
            seed=self.state.config.seed,
            revision_days=self.state.config.revision_days,
            ad_types=types,
        )
        return Response(body, 200, content_type="application/json")

    def faults(self, request: Request) -> Response:
        """GET: the faults in force. POST: merge a JSON object of faults into them."""
        if request.method == "GET":
            return json_response(self.state.faults.to_json())
        body = _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            return json_response(self.state.set_faults(body).to_json())
        except ValueError as exc:
            return _bad(str(exc))

    def revoke(self, request: Request) -> Response:
        """Withdraw a user's consent: ``{"login": …}``; their tokens stop working."""
        body = _json_body(request)
        if isinstance(body, Response):
            return body
        user = self.state.user_by_login(str(body.get("login", "")))
        if user is None:
            return _bad(f"unknown login {body.get('login')!r}", 404)
        return json_response({"revoked": user.login, "tokens": self.state.revoke(user)})

    def revise(self, request: Request) -> Response:
        """POST: bump the revision (recent days' attributed figures change). GET: read it."""
        revision = self.state.revise() if request.method == "POST" else self.state.revision
        return json_response({"revision": revision})

    def stats(self, request: Request) -> Response:
        """Counters: requests by kind, refreshes, token errors by code, statistics calls, 429s,
        faults."""
        with self.state.lock:
            counters = dict(self.state.counters)
        sections: dict[str, dict[str, int]] = {
            "requests": {},
            "faults": {},
            "statuses": {},
            "token_errors": {},
            "forbidden": {},
        }
        for key, value in counters.items():
            section, _, name = key.partition(".")
            if name and section in sections:
                sections[section][name] = value
        for kind in REQUEST_KINDS:
            sections["requests"].setdefault(kind, 0)
        return json_response(
            {
                **sections,
                "statistics_calls": sections["requests"]["statistics"],
                "statistics_ok": counters.get("statistics_ok", 0),
                "refreshes_ok": counters.get("refreshes_ok", 0),
                "refreshes_in_grace": counters.get("refreshes_in_grace", 0),
                "refreshes_failed": counters.get("refreshes_failed", 0),
                "invalid_grant": sections["token_errors"].get("invalid_grant", 0),
                "responses_429": sections["statuses"].get("429", 0),
                "rate_limited": counters.get("rate_limited", 0),
                "faults_injected": counters.get("faults_injected", 0),
                "codes_issued": counters.get("codes_issued", 0),
                "tokens_issued": counters.get("tokens_issued", 0),
                "consents_approved": counters.get("consents_approved", 0),
                "consents_denied": counters.get("consents_denied", 0),
                "revocations": counters.get("revocations", 0),
                "revision": self.state.revision,
            }
        )

    def device_confirm(self, request: Request) -> Response:
        """Confirm (or with ``"decision": "deny"`` refuse) a device code as a user; the
        password is checked only if sent."""
        body = _json_body(request)
        if isinstance(body, Response):
            return body
        approve = body.get("decision", "approve") == "approve"
        error = self.state.confirm_device(
            str(body.get("user_code", "")),
            str(body.get("login", "")),
            approve,
            str(body.get("password", "")),
        )
        return _bad(error) if error else json_response({"confirmed": approve})

    def clock(self, request: Request) -> Response:
        """POST ``{"advance_seconds": n}`` moves the simulator's clock; GET reads it."""
        if request.method == "POST":
            body = _json_body(request)
            if isinstance(body, Response):
                return body
            seconds = body.get("advance_seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                return _bad("advance_seconds must be a non-negative number")
            self.state.advance(float(seconds))
        return json_response(
            {
                "now": self.state.now(),
                "offset": self.state.clock_offset,
                "today": str(self.state.today()),
            }
        )

    def config(self, request: Request) -> Response:
        """The configuration this simulator runs with (secrets included: it is a simulator)."""
        data = asdict(self.state.config)
        data["today"] = str(self.state.today())
        data["redirect_uris"] = list(self.state.config.redirect_uris)
        data["registered_scopes"] = list(self.state.config.registered_scopes)
        data["default_scope"] = self.state.config.default_scope
        return json_response(data)
