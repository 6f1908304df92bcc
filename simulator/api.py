"""The simulated Allegro REST API, as allegro-api.md describes it:

- agency account token: ``GET /advertising-agencies/clients`` and
  ``GET /advertising-agencies/clients/{clientId}/statistics`` (scope ``allegro:api:ads``);
- sales account token: ``GET /sale/offers`` (scope ``allegro:api:sale:offers:read``);
- any token: ``GET /me``;
- the non-public Ads management API under ``/ads/...``: refused as for a non-whitelisted app.

Every path goes through one pipeline: faults, bearer auth (OAuth-style 401s), the
per-application rate limit, the media type (public.v1), the scope, then the handler; a
successful answer may be mangled by a fault."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.data import served_statistics_json
from simulator.entities import SimUser
from simulator.faults import add_extra_fields, drop_clicks, malform, truncate
from simulator.offers import offer_json, seller_offers
from simulator.responses import (
    PUBLIC_MEDIA_TYPE,
    api_error,
    dumps,
    forbidden,
    invalid_token,
    negotiate,
)
from simulator.state import ADS_SCOPE, OFFERS_SCOPE, SimulatorState
from simulator.tokens import issued_here
from simulator.validation import paging, statistics_query

CLIENTS_PATH = "/advertising-agencies/clients"
STATISTICS_PATH = "/advertising-agencies/clients/<client_id>/statistics"
OFFERS_PATH = "/sale/offers"
ME_PATH = "/me"
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
            Rule(ME_PATH, methods=["GET"], endpoint=self.me),
            Rule(CLIENTS_PATH, methods=["GET"], endpoint=self.clients),
            Rule(STATISTICS_PATH, methods=["GET"], endpoint=self.statistics),
            Rule(OFFERS_PATH, methods=["GET"], endpoint=self.offers),
            Rule("/ads", endpoint=self.non_public),
            Rule("/ads/<path:rest>", endpoint=self.non_public),
        ]

    # --- handlers ------------------------------------------------------------

    def me(self, request: Request) -> Response:
        """GET /me: the account the token belongs to (any token, no scope needed)."""

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
        """GET /advertising-agencies/clients: the agency's clients, ``{"clients": [{id,
        name}]}``; paged with count/totalCount only when ``clients_paging`` is on."""

        def produce(user: SimUser) -> Response | dict[str, Any]:
            if not user.is_agency:
                return self._forbidden(request, "not_agency")
            listed = self.state.clients_of(user)
            if not self.config.clients_paging:
                return {"clients": [_client_json(u) for u in listed]}
            page = paging(request.args)
            if isinstance(page, Response):
                return page
            limit, offset = page
            clients = [_client_json(u) for u in listed[offset : offset + limit]]
            return {"clients": clients, "count": len(clients), "totalCount": len(listed)}

        return self._serve(request, "clients", None, produce, scope=ADS_SCOPE)

    def statistics(self, request: Request, client_id: str) -> Response:
        """GET /advertising-agencies/clients/{id}/statistics: one element per ad, one row per
        day, for the agency that has this client."""

        def produce(user: SimUser) -> Response | bytes:
            refused = self._agency_client(request, user, client_id)
            if refused:
                return refused
            query = statistics_query(request.args, self.config, self.state.today())
            if isinstance(query, Response):
                return query
            start, end, types = query
            self.state.count("statistics_ok")
            return served_statistics_json(
                client_id,
                start,
                end,
                self.state.today(),
                self.state.revision,
                seed=self.config.seed,
                revision_days=self.config.revision_days,
                ad_types=types,
            )

        return self._serve(request, "statistics", client_id, produce, scope=ADS_SCOPE)

    def offers(self, request: Request) -> Response:
        """GET /sale/offers: the token's own offers, ``offer.id`` (repeatable) narrowing them,
        ``limit`` (1-1000, default 20) and ``offset`` paging them."""

        def produce(user: SimUser) -> Response | dict[str, Any]:
            page = paging(request.args)
            if isinstance(page, Response):
                return page
            limit, offset = page
            # An agency account sells nothing: its offer list is empty.
            client = user.ads_client_id
            owned = seller_offers(self.config.seed, client) if client else ()
            wanted = _offer_ids(request.args)
            chosen = [o for o in owned if o.id in wanted] if wanted else list(owned)
            offers = [offer_json(o) for o in chosen[offset : offset + limit]]
            return {"offers": offers, "count": len(offers), "totalCount": len(chosen)}

        return self._serve(request, "offers", None, produce, scope=OFFERS_SCOPE)

    def non_public(self, request: Request, rest: str = "") -> Response:
        """/ads/...: the non-public Ads management API, refused as for a non-whitelisted app
        (401 by default, 403 with ``non_public_status``) once the token itself is valid."""

        def produce(user: SimUser) -> Response:
            status = self.config.non_public_status
            return api_error(
                status,
                "UNAUTHORIZED" if status == 401 else "FORBIDDEN",
                f"Non-whitelisted allegroId={user.user_id}",
                path=request.path,
                user_message="Access to this resource is blocked",
            )

        return self._serve(request, "non_public", None, produce, public=False)

    # --- the common pipeline -------------------------------------------------

    def _serve(
        self,
        request: Request,
        kind: str,
        client_id: str | None,
        produce: Produce,
        *,
        scope: str | None = None,
        public: bool = True,
    ) -> Response:
        """Faults, bearer auth, rate limit, then (on ``public`` paths) Accept and ``scope``,
        then ``produce``; mangle the answer if a fault says so."""
        self.state.count(f"requests.{kind}")
        before = self.state.fault_before(oauth=False, client_id=client_id)
        if before.delay_ms:
            time.sleep(before.delay_ms / 1000)
        if before.status == 429:
            return _too_many("Injected 429 storm", before.retry_after or None)
        if before.status is not None:
            code = HTTPStatus(before.status).name if before.status in _KNOWN_STATUSES else "ERROR"
            return api_error(before.status, code, "Injected failure; retry later")

        authenticated = self._authenticate(request)
        if isinstance(authenticated, Response):
            return authenticated
        user, granted, app_client_id = authenticated
        wait = self.state.admit(app_client_id)
        if wait is not None:
            self.state.count("rate_limited")
            retry_after = math.ceil(wait) if self.config.send_retry_after else None
            return _too_many(
                f"Too many requests for application {app_client_id}; it is blocked for a minute",
                retry_after,
            )
        # The non-public API refuses before looking at the request any further.
        refused = self._public_checks(request, granted, scope) if public else None
        if refused is not None:
            return refused

        result = produce(user)
        if isinstance(result, Response):
            return result
        body = self._mangled(kind, client_id, result)
        return Response(body, 200, content_type=PUBLIC_MEDIA_TYPE)

    def _public_checks(self, request: Request, granted: str, scope: str | None) -> Response | None:
        """The 406 for a wrong Accept or the 403 for a missing scope, else None."""
        if negotiate(request.headers.get("Accept"), (PUBLIC_MEDIA_TYPE,)) is None:
            return api_error(
                406,
                "NOT_ACCEPTABLE",
                f"Send 'Accept: {PUBLIC_MEDIA_TYPE}'; got {request.headers.get('Accept')!r}",
            )
        if scope is not None and scope not in granted.split():
            return self._forbidden(request, "scope")
        return None

    def _mangled(self, kind: str, client_id: str | None, result: dict[str, Any] | bytes) -> bytes:
        """The answer's body after the answer-mangling faults in force (usually none)."""
        after = self.state.fault_after(oauth=False, client_id=client_id)
        extra = after.extra_field and kind in ("statistics", "clients", "offers")
        missing = after.missing_field and kind == "statistics"
        if not (after.malformed or extra or missing):
            body = result if isinstance(result, bytes) else dumps(result)
        else:
            document = json.loads(result) if isinstance(result, bytes) else result
            if extra:
                add_extra_fields(document, kind)
                self.state.count("faults_injected", "faults.extra_field")
            if missing:
                drop_clicks(document)
                self.state.count("faults_injected", "faults.missing_field")
            body = dumps(malform(kind, document) if after.malformed else document)
        return truncate(body) if after.truncate else body

    def _authenticate(self, request: Request) -> Response | tuple[SimUser, str, str]:
        """(account, granted scope, application client id) of the bearer token, or the 401."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return invalid_token(
                "Full authentication is required to access this resource", error="unauthorized"
            )
        grant = self.state.access_grant(token)
        if grant is None or grant.expires_at <= self.state.now():
            if grant is None and not issued_here(token, self.state.signing_key):
                return invalid_token("Cannot convert access token to JSON")
            # Allegro says "expired" for a token past its exp, replaced by a refresh or revoked.
            return invalid_token(f"Access token expired: {token}")
        user = self.state.user_by_id(grant.user_id)
        if user is None:  # a state file from a simulator with more users; fail closed
            return invalid_token("Cannot convert access token to JSON")
        return user, grant.scope, grant.client_id

    def _agency_client(self, request: Request, user: SimUser, client_id: str) -> Response | None:
        """None if ``user`` is the agency that has ``client_id`` in its list, else the 403."""
        if not user.is_agency:
            return self._forbidden(request, "not_agency")
        seller = self.state.seller_of_client(client_id)
        if seller is None or seller.agency_login != user.login:
            return self._forbidden(request, "not_your_client")
        if client_id in self.state.faults.remove_clients:
            self.state.count("faults_injected", "faults.removed_client")
            return self._forbidden(request, "removed_client")
        return None

    def _forbidden(self, request: Request, reason: str) -> Response:
        self.state.count(f"forbidden.{reason}")
        return forbidden(request.path)


def _client_json(user: SimUser) -> dict[str, Any]:
    return {"id": user.ads_client_id, "name": user.name}


def _offer_ids(args: MultiDict[str, str]) -> set[str]:
    """``offer.id`` values, repeated or comma-joined."""
    return {i.strip() for v in args.getlist("offer.id") for i in v.split(",") if i.strip()}


def _too_many(message: str, retry_after: int | None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return api_error(429, "TOO_MANY_REQUESTS", message, headers=headers)
