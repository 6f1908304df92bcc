"""The simulated Allegro REST API: /me, the agency's ads clients, a client's statistics and
sponsored campaigns, behind bearer auth, media-type negotiation, the rate limit and faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.data import statistics_json
from simulator.entities import (
    AGENCY_LOGIN,
    SPONSORED_OFFER,
    SimUser,
    client_structure,
)
from simulator.faults import add_extra_fields, drop_clicks, malform, truncate
from simulator.responses import (
    BETA_MEDIA_TYPE,
    PUBLIC_MEDIA_TYPE,
    api_error,
    dumps,
    negotiate,
)
from simulator.state import DEFAULT_SCOPE, SimulatorState
from simulator.validation import paging, statistics_query

STATISTICS_PATH = "/ads/clients/<client_id>/statistics"
CAMPAIGNS_PATH = "/ads/clients/<client_id>/sponsored/campaigns"
_KNOWN_STATUSES = {s.value for s in HTTPStatus}
# A handler's answer: an error Response, a JSON document, or JSON already rendered.
Produce = Callable[[SimUser], "Response | dict[str, Any] | bytes"]


class ApiEndpoints:
    """Handlers of the REST paths; all state lives in ``state``."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state
        self.config = state.config

    def rules(self) -> list[Rule]:
        """The URL rules, with bound handlers as endpoints."""
        return [
            Rule("/me", methods=["GET"], endpoint=self.me),
            Rule("/ads/clients", methods=["GET"], endpoint=self.clients),
            Rule(STATISTICS_PATH, methods=["GET"], endpoint=self.statistics),
            Rule(CAMPAIGNS_PATH, methods=["GET"], endpoint=self.campaigns),
        ]

    # --- handlers ------------------------------------------------------------

    def me(self, request: Request) -> Response:
        """GET /me: the user the token belongs to."""

        def produce(user: SimUser) -> dict[str, Any]:
            return {
                "id": user.user_id,
                "login": user.login,
                "email": user.email,
                "firstName": user.first_name,
                "lastName": user.last_name,
                "company": {"name": user.name},
                "baseMarketplace": {"id": "allegro-pl"},
            }

        return self._serve(request, "me", None, produce)

    def clients(self, request: Request) -> Response:
        """GET /ads/clients: the ads clients this token may act for, paged."""

        def produce(user: SimUser) -> Response | dict[str, Any]:
            page = paging(request.args)
            if isinstance(page, Response):
                return page
            limit, offset = page
            visible = self.state.visible_clients(user)
            clients = [
                {"id": u.ads_client_id, "name": u.name, "type": "SINGLE_SELLER", "status": "ACTIVE"}
                for u in visible[offset : offset + limit]
            ]
            return {"clients": clients, "count": len(clients), "totalCount": len(visible)}

        return self._serve(request, "clients", None, produce)

    def statistics(self, request: Request, client_id: str) -> Response:
        """GET /ads/clients/{id}/statistics: one ad per element, one row per day."""

        def produce(user: SimUser) -> Response | bytes:
            refused = self._client_access(user, client_id)
            if refused:
                return refused
            query = statistics_query(request.args, self.config, self.state.today())
            if isinstance(query, Response):
                return query
            start, end, types = query
            self.state.count("statistics_ok")
            return statistics_json(
                client_id,
                start,
                end,
                self.state.today(),
                self.state.revision,
                seed=self.config.seed,
                revision_days=self.config.revision_days,
                ad_types=types,
            )

        return self._serve(request, "statistics", client_id, produce)

    def campaigns(self, request: Request, client_id: str) -> Response:
        """GET /ads/clients/{id}/sponsored/campaigns: sponsored-offer campaigns, paged."""

        def produce(user: SimUser) -> Response | dict[str, Any]:
            refused = self._client_access(user, client_id)
            if refused:
                return refused
            page = paging(request.args)
            if isinstance(page, Response):
                return page
            limit, offset = page
            structure = client_structure(self.config.seed, client_id)
            # Display campaigns are not manageable through the API, so they are not listed.
            sponsored = [c for c in structure.campaigns if c.ad_type == SPONSORED_OFFER]
            campaigns = [
                {"id": c.id, "marketplaceId": "allegro-pl", "name": c.name, "status": c.status}
                for c in sponsored[offset : offset + limit]
            ]
            return {"campaigns": campaigns, "count": len(campaigns), "totalCount": len(sponsored)}

        return self._serve(request, "campaigns", client_id, produce)

    # --- the common pipeline -------------------------------------------------

    def _serve(
        self, request: Request, kind: str, client_id: str | None, produce: Produce
    ) -> Response:
        """Faults, bearer auth, Accept, rate limit, then ``produce``; mangle the answer if a
        fault says so."""
        self.state.count(f"requests.{kind}")
        before = self.state.fault_before(oauth=False, client_id=client_id)
        if before.delay_ms:
            time.sleep(before.delay_ms / 1000)
        if before.status == 429:
            return _too_many(before.retry_after or 1, "Injected 429 storm")
        if before.status is not None:
            code = HTTPStatus(before.status).name if before.status in _KNOWN_STATUSES else "ERROR"
            return api_error(before.status, code, "Injected failure; retry later")

        authenticated = self._authenticate(request)
        if isinstance(authenticated, Response):
            return authenticated
        user, scope, app_client_id = authenticated
        allowed = (PUBLIC_MEDIA_TYPE, BETA_MEDIA_TYPE) if kind != "me" else (PUBLIC_MEDIA_TYPE,)
        media_type = negotiate(request.headers.get("Accept"), allowed)
        if media_type is None:
            return api_error(
                406,
                "NOT_ACCEPTABLE",
                f"Send 'Accept: {PUBLIC_MEDIA_TYPE}'; got {request.headers.get('Accept')!r}",
            )
        if kind != "me" and DEFAULT_SCOPE not in scope.split():
            return api_error(403, "ACCESS_DENIED", f"The token lacks the {DEFAULT_SCOPE} scope")
        wait = self.state.admit(app_client_id)
        if wait is not None:
            self.state.count("rate_limited")
            return _too_many(wait, "Too many requests for this application; slow down")

        result = produce(user)
        if isinstance(result, Response):
            return result
        return Response(self._mangled(kind, client_id, result), 200, content_type=media_type)

    def _mangled(self, kind: str, client_id: str | None, result: dict[str, Any] | bytes) -> bytes:
        """The answer's body after the answer-mangling faults in force (usually none)."""
        after = self.state.fault_after(oauth=False, client_id=client_id)
        statistics = kind == "statistics"
        extra = statistics and after.extra_field
        missing = statistics and after.missing_field
        if not (after.malformed or extra or missing):
            body = result if isinstance(result, bytes) else dumps(result)
        else:
            document = json.loads(result) if isinstance(result, bytes) else result
            if extra:
                add_extra_fields(document)
                self.state.count("faults_injected", "faults.extra_field")
            if missing:
                drop_clicks(document)
                self.state.count("faults_injected", "faults.missing_field")
            body = dumps(malform(kind, document) if after.malformed else document)
        return truncate(body) if after.truncate else body

    def _authenticate(self, request: Request) -> Response | tuple[SimUser, str, str]:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("Full authentication is required to access this resource")
        grant = self.state.access_grant(token.strip())
        if grant is None:
            return _unauthorized("Invalid access token")
        if grant.expires_at <= self.state.now():
            return _unauthorized("Access token expired")
        user = self.state.user_by_id(grant.user_id)
        if user is None:  # cannot happen with generated users; fail closed anyway
            return _unauthorized("Unknown user")
        return user, grant.scope, grant.client_id

    def _client_access(self, user: SimUser, client_id: str) -> Response | None:
        if self.state.owner_of_client(client_id) is None:
            return api_error(404, "NOT_FOUND", f"Ads client {client_id} not found")
        if user.login != AGENCY_LOGIN and user.ads_client_id != client_id:
            return api_error(403, "ACCESS_DENIED", f"No access to ads client {client_id}")
        if client_id in self.state.faults.remove_clients:
            self.state.count("faults_injected", "faults.removed_client")
            return api_error(
                403, "ACCESS_DENIED", f"Ads client {client_id} is no longer linked to the agency"
            )
        return None


def _unauthorized(message: str) -> Response:
    return api_error(
        401, "UNAUTHORIZED", message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def _too_many(retry_after: int, message: str) -> Response:
    return api_error(429, "TOO_MANY_REQUESTS", message, headers={"Retry-After": str(retry_after)})
