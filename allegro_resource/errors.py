"""Errors raised while talking to Allegro, as one small hierarchy.

Catch ``AllegroError`` for "anything from Allegro went wrong"; catch the narrow
classes where the caller can do something specific (ask for re-authorisation,
fix a date range, report a malformed answer).
"""

from __future__ import annotations

from typing import Any


class AllegroError(Exception):
    """Base class of every error raised by ``allegro_resource``."""


# --- OAuth -----------------------------------------------------------------


class OAuthError(AllegroError):
    """The OAuth token endpoint refused a request."""

    def __init__(self, error: str, description: str = "", status: int | None = None) -> None:
        self.error = error
        self.description = description
        self.status = status
        detail = f": {description}" if description else ""
        super().__init__(f"Allegro OAuth refused the request ({error}{detail})")


class InvalidGrant(OAuthError):
    """The code or refresh token is no longer valid: the customer must authorise again."""

    def __init__(self, description: str = "", status: int | None = 400) -> None:
        super().__init__("invalid_grant", description, status)
        self.args = (
            f"Allegro refused the grant ({description or 'invalid_grant'}); "
            "the customer must authorise the application again with a new link",
        )


class InvalidClient(OAuthError):
    """The application's client id or secret is wrong."""

    def __init__(self, description: str = "", status: int | None = 401) -> None:
        super().__init__("invalid_client", description, status)
        self.args = (
            "Allegro rejected the application's credentials; check ALLEGRO_ADS_CLIENT_ID "
            "and ALLEGRO_ADS_CLIENT_SECRET",
        )


AGENCY_ACCOUNT_PREFIX = "ag_"
"""Agency account ids start with it (docs/accounts.md); customer ids never do."""


def is_agency_account(account_id: str) -> bool:
    """True for an agency account's id, False for a customer's (a sales account)."""
    return account_id.startswith(AGENCY_ACCOUNT_PREFIX)


def reconnect_fix(account_id: str) -> str:
    """What an admin does to authorise ``account_id`` again."""
    if is_agency_account(account_id):
        return "connect the agency account again: allegro-ads agency connect"
    return f"send the customer a new link: allegro-ads links create {account_id}"


class NeedsReauthorization(AllegroError):
    """A connection (an agency account's or a customer's) is unusable until its account
    authorises the application again. ``customer_id`` holds the account id."""

    def __init__(self, customer_id: str, reason: str) -> None:
        self.customer_id = customer_id
        self.reason = reason
        who = "agency account" if is_agency_account(customer_id) else "customer"
        super().__init__(
            f"{who} {customer_id} needs to authorise again ({reason}); {reconnect_fix(customer_id)}"
        )


# --- REST API --------------------------------------------------------------


class ApiError(AllegroError):
    """The REST API answered with an error status (after any retries)."""

    def __init__(
        self,
        status: int,
        endpoint: str,
        errors: list[dict[str, Any]] | None = None,
        trace_id: str | None = None,
        customer_id: str | None = None,
    ) -> None:
        self.status = status
        self.endpoint = endpoint
        self.errors = errors or []
        self.trace_id = trace_id
        self.customer_id = customer_id
        messages = "; ".join(
            str(e.get("userMessage") or e.get("message") or e.get("code")) for e in self.errors
        )
        who = f" for customer {customer_id}" if customer_id else ""
        trace = f" [Trace-Id {trace_id}]" if trace_id else ""
        super().__init__(
            f"Allegro answered {status} on {endpoint}{who}: {messages or 'no details'}{trace}"
        )


class Unauthorized(ApiError):
    """401 that is not about the token itself (e.g. the non-public ``/ads`` API's
    "Non-whitelisted allegroId"): refreshing would not help."""


class InvalidToken(Unauthorized):
    """401 ``invalid_token``: the access token expired, was replaced by a refresh or revoked;
    re-read the stored pair (refresh only if it is still the same) and retry once."""


class Forbidden(ApiError):
    """403 ``FORBIDDEN``: this account may not read this resource. ``fix`` says what to do."""

    def __init__(
        self,
        status: int,
        endpoint: str,
        errors: list[dict[str, Any]] | None = None,
        trace_id: str | None = None,
        customer_id: str | None = None,
        *,
        reason: str | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(status, endpoint, errors, trace_id, customer_id)
        self.reason = reason
        self.fix = fix
        if reason or fix:
            parts = [str(self), reason, f"Fix: {fix}" if fix else None]
            self.args = ("; ".join(p for p in parts if p),)


class MissingScope(Forbidden):
    """403 because the token lacks the scope the endpoint needs (``scope``): the account must
    authorise again, asking for it."""

    def __init__(
        self,
        scope: str,
        endpoint: str,
        errors: list[dict[str, Any]] | None = None,
        trace_id: str | None = None,
        customer_id: str | None = None,
        *,
        account_id: str,
        fix: str,
    ) -> None:
        self.scope = scope
        self.account_id = account_id
        super().__init__(
            403,
            endpoint,
            errors,
            trace_id,
            customer_id,
            reason=f"the token of account {account_id} lacks the scope {scope}",
            fix=fix,
        )


class NotFound(ApiError):
    """404: the resource does not exist."""


class ValidationFailed(ApiError):
    """422: Allegro rejected the request's parameters."""


class RateLimited(ApiError):
    """429 persisted past the retry budget."""


class ServerError(ApiError):
    """5xx persisted past the retry budget: Allegro is having trouble; try again later."""


class AllegroUnavailable(AllegroError):
    """Allegro could not be reached (connection refused, timeout) within the retry budget."""


class MalformedResponse(AllegroError):
    """Allegro's answer did not have the expected shape; nothing of it was used."""

    def __init__(
        self, endpoint: str, detail: str, customer_id: str | None = None, field: str | None = None
    ) -> None:
        self.endpoint = endpoint
        self.detail = detail
        self.customer_id = customer_id
        self.field = field
        who = f" for customer {customer_id}" if customer_id else ""
        where = f" at field '{field}'" if field else ""
        super().__init__(f"malformed answer from {endpoint}{who}{where}: {detail}")


class DateRangeError(AllegroError, ValueError):
    """A requested date range breaks the statistics API's rules; no call was made."""


class UnexpectedFailure(AllegroError):
    """A customer's fetch failed outside Allegro (a bug, the token store unreachable): the
    original error is the ``__cause__``, kept so one customer's failure can be reported beside
    the others instead of stopping them."""

    def __init__(self, customer_id: str, cause: Exception) -> None:
        self.customer_id = customer_id
        self.cause = cause
        super().__init__(
            f"fetching customer {customer_id} failed unexpectedly: {type(cause).__name__}: "
            f"{cause}; see the chained traceback (a bug or an infrastructure problem, not Allegro)"
        )
        self.__cause__ = cause
