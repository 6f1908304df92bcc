"""The simulator-only endpoints under /_sim/ (unauthenticated JSON, for tests and the demo):
users, truth, faults, revocation, revision, device confirmation, clock, counters."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.data import statistics_json
from simulator.entities import AD_TYPES, SimUser
from simulator.oauth import confirm_device
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
    "campaigns",
)


def _user_json(user: SimUser) -> dict[str, Any]:
    return {
        "login": user.login,
        "user_id": user.user_id,
        "ads_client_id": user.ads_client_id,
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
            Rule("/_sim/truth/<client_id>", methods=["GET"], endpoint=self.truth),
            Rule("/_sim/faults", methods=["GET", "POST"], endpoint=self.faults),
            Rule("/_sim/revoke", methods=["POST"], endpoint=self.revoke),
            Rule("/_sim/revise", methods=["GET", "POST"], endpoint=self.revise),
            Rule("/_sim/stats", methods=["GET"], endpoint=self.stats),
            Rule("/_sim/device/confirm", methods=["POST"], endpoint=self.device_confirm),
            Rule("/_sim/clock", methods=["GET", "POST"], endpoint=self.clock),
            Rule("/_sim/config", methods=["GET"], endpoint=self.config),
        ]

    def users(self, request: Request) -> Response:
        """The sellers (the agency user is at /_sim/agency)."""
        return json_response([_user_json(u) for u in self.state.sellers])

    def agency(self, request: Request) -> Response:
        """The agency user, whose token lists every seller's ads client."""
        return json_response(_user_json(self.state.agency))

    def truth(self, request: Request, client_id: str) -> Response:
        """What the statistics endpoint serves now for [from, to]: no range cap, no faults."""
        if self.state.owner_of_client(client_id) is None:
            return _bad(f"unknown ads client {client_id}", 404)
        try:
            start = date.fromisoformat(request.args["from"])
            end = date.fromisoformat(request.args["to"])
        except (KeyError, ValueError):
            return _bad("from and to are required dates (YYYY-MM-DD)")
        types = request.args.getlist("types") or list(AD_TYPES)
        if start > end or any(t not in AD_TYPES for t in types):
            return _bad(f"need from <= to and types among {list(AD_TYPES)}")
        today = self.state.today()
        body = statistics_json(
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
        """Confirm (or with ``"decision": "deny"`` refuse) a device code as a user."""
        body = _json_body(request)
        if isinstance(body, Response):
            return body
        approve = body.get("decision", "approve") == "approve"
        error = confirm_device(
            self.state, str(body.get("user_code", "")), str(body.get("login", "")), approve
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
        return json_response(data)
