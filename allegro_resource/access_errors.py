"""Explaining a 403 ``FORBIDDEN``: Allegro answers the same body for a missing scope, a seller's
token on an agency path, a client that is not this agency's and an agency that is not an Ads
Partner. The token's own scopes tell the first apart; the endpoint says what to do otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from allegro_resource.errors import Forbidden, MissingScope, reconnect_fix
from allegro_resource.token_claims import token_scopes

ADS_SCOPE = "allegro:api:ads"
OFFERS_READ_SCOPE = "allegro:api:sale:offers:read"


AGENCY_SCOPE_FIX = (
    "connect the agency account again: allegro-ads agency connect (ALLEGRO_ADS_AGENCY_SCOPE, "
    "what it asks for, must include {scope})"
)
SALES_SCOPE_FIX = (
    "send the customer a new link: allegro-ads links create {account} "
    "(ALLEGRO_ADS_SALES_SCOPE, what it asks for, must include {scope})"
)


@dataclass(frozen=True, slots=True)
class Access:
    """What one call needs: ``scope`` (None: any token) and what fixes its absence; for a 403
    that is not about the scope, why access is refused and what fixes it."""

    scope: str | None
    scope_fix: str
    reason: str
    fix: str


def agency_clients_access(account_id: str) -> Access:
    """Listing an agency account's clients."""
    return Access(
        ADS_SCOPE,
        AGENCY_SCOPE_FIX.format(scope=ADS_SCOPE),
        f"account {account_id} is not an agency account of an Allegro Ads Partner (a seller's "
        "account, or an agency Allegro has not made an Ads Partner)",
        "connect the agency's own Allegro account: allegro-ads agency connect; if it is the "
        "agency's, ask Allegro to grant it the Ads Partner API (allegro:api:ads)",
    )


def statistics_access(account_id: str, ads_client_id: str) -> Access:
    """Reading one agency client's statistics."""
    return Access(
        ADS_SCOPE,
        AGENCY_SCOPE_FIX.format(scope=ADS_SCOPE),
        f"client {ads_client_id} is not in the client list of agency account {account_id} (the "
        "seller withdrew the agency's access in Allegro Ads, it is another agency's client, or "
        "the account is not an Ads Partner agency account)",
        "ask the seller to accept the agency's request in Allegro Ads again, or link the customer "
        "to the agency account that has this client; statistics need the agency's own account "
        "(allegro-ads agency connect), never a seller's",
    )


def seller_access(account_id: str, scope: str | None) -> Access:
    """Reading a sales account's own data (``/me``, ``/sale/offers``)."""
    return Access(
        scope,
        SALES_SCOPE_FIX.format(account=account_id, scope=scope),
        f"account {account_id} may not read this",
        reconnect_fix(account_id),
    )


def explain_forbidden(error: Forbidden, access: Access, account_id: str, token: str) -> Forbidden:
    """``MissingScope`` when the token's scopes lack ``access.scope``, else ``Forbidden`` with
    the access's reason and fix (the original answer's details kept)."""
    scopes = token_scopes(token)
    if access.scope is not None and scopes is not None and access.scope not in scopes:
        return MissingScope(
            access.scope,
            error.endpoint,
            error.errors,
            error.trace_id,
            error.customer_id,
            account_id=account_id,
            fix=access.scope_fix,
        )
    return Forbidden(
        error.status,
        error.endpoint,
        error.errors,
        error.trace_id,
        error.customer_id,
        reason=access.reason,
        fix=access.fix,
    )
