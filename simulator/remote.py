"""The simulator's test controls (``/_sim/…``) over HTTP, usable from any process: accounts,
consents, faults, revocations, revisions, the clock, the truth (statistics and offers) and the
counters. docs/simulator.md describes each endpoint."""

from __future__ import annotations

from datetime import date
from typing import Any

import requests


class SimulatorControl:
    """Drives a running simulator at ``base_url`` through its ``/_sim/`` endpoints."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = requests.Session()

    def close(self) -> None:
        """Close the HTTP session (the simulator keeps running)."""
        self._http.close()

    def _sim(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"{self.base_url}/_sim/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def faults(self, **faults: Any) -> dict[str, Any]:
        """Merge faults (``reset=True`` clears first); returns the faults now in force."""
        result: dict[str, Any] = self._sim("POST", "faults", json=faults)
        return result

    def revoke(self, login: str) -> dict[str, Any]:
        """Withdraw ``login``'s consent: all their tokens die."""
        result: dict[str, Any] = self._sim("POST", "revoke", json={"login": login})
        return result

    def revise(self) -> int:
        """Bump the revision (recent days change); returns the new revision."""
        return int(self._sim("POST", "revise")["revision"])

    def users(self) -> list[dict[str, Any]]:
        """The sellers: login, password, user_id, ads_client_id (the agency client id),
        agency_login (the owning agency), name, email, …"""
        result: list[dict[str, Any]] = self._sim("GET", "users")
        return result

    def agency(self) -> dict[str, Any]:
        """The first agency account (login "agency", password, user_id, …, ``clients``: the
        client ids in its list now)."""
        result: dict[str, Any] = self._sim("GET", "agency")
        return result

    def agencies(self) -> list[dict[str, Any]]:
        """Every agency account, shaped as ``agency()``."""
        result: list[dict[str, Any]] = self._sim("GET", "agencies")
        return result

    def consents(self) -> list[dict[str, Any]]:
        """The accounts that approved the application: login, user_id, scope, granted_at."""
        result: list[dict[str, Any]] = self._sim("GET", "consents")
        return result

    def offers(self, login: str) -> list[dict[str, Any]]:
        """Every offer of seller ``login`` as /sale/offers renders them (unpaged, no faults)."""
        result: list[dict[str, Any]] = self._sim("GET", f"offers/{login}")["offers"]
        return result

    def truth(
        self, client_id: str, start: date, end: date, types: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The statistics as served now for [start, end] (capped at yesterday, no range cap,
        no faults), of ``types`` (default both)."""
        params: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat()}
        if types:
            params["types"] = list(types)
        result: dict[str, Any] = self._sim("GET", f"truth/{client_id}", params=params)
        return result

    def stats(self) -> dict[str, Any]:
        """The counters (requests by kind, refreshes_ok/failed, invalid_grant, token_errors by
        code, responses_429, faults…)."""
        result: dict[str, Any] = self._sim("GET", "stats")
        return result

    def confirm_device(self, user_code: str, login: str, decision: str = "approve") -> None:
        """Confirm (``decision="deny"``: refuse) a device-flow code as ``login``."""
        body = {"user_code": user_code, "login": login, "decision": decision}
        self._sim("POST", "device/confirm", json=body)

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (tokens and codes expire without sleeping)."""
        self._sim("POST", "clock", json={"advance_seconds": seconds})

    def clock(self) -> dict[str, Any]:
        """The simulated clock: ``now`` (Unix time), ``offset`` from wall time, ``today``."""
        result: dict[str, Any] = self._sim("GET", "clock")
        return result

    def today(self) -> date:
        """The simulator's today, so both sides agree on yesterday."""
        return date.fromisoformat(self.clock()["today"])

    def config(self) -> dict[str, Any]:
        """The configuration it was started with (lifetimes, limits, …)."""
        result: dict[str, Any] = self._sim("GET", "config")
        return result
