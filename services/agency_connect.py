"""Connecting an agency account: the CLI's device flow and the portal's code flow both end with
the new token pair bound to the agency account through ``/me``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.models import TokenSet
from allegro_resource.oauth import OAuthClient, new_pkce
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.token_provider import TokenProvider
from control_store import agency_accounts, agency_clients, agency_oauth_states
from control_store.agency_accounts import AgencyAccount
from control_store.agency_clients import ListingChanges
from control_store.database import Conflict, NotFound
from services.control import Control

# Builds an Ads API client over a token provider (e.g. ``functools.partial(
# services.clients.ads_client, settings)``): the new pair is only known once the flow ends, so
# the caller passes how to build a client rather than a client.
ApiFactory = Callable[[TokenProvider], AbstractContextManager[AllegroAdsClient]]


# --- the portal's code flow (state + PKCE bound to the admin's session) ------------------------


def begin_agency_consent(
    control: Control, oauth: OAuthClient, agency_account_id: str, user_id: str
) -> str:
    """Start connecting ``agency_account_id`` for the admin ``user_id``: the Allegro URL to send
    the admin's browser to (asks for ``oauth.agency_scope``).

    The state is stored bound to the account and the admin (``agency_oauth_states``), single use
    and valid ``AGENCY_STATE_TTL``; the PKCE verifier is stored encrypted. ``NotFound`` /
    ``Conflict`` for an unknown / deactivated agency account.
    """
    agency_oauth_states.purge_agency_states(control.engine)  # abandoned sign-ins; cheap
    pkce = new_pkce()
    state = agency_oauth_states.create_agency_state(
        control.engine, control.tokens.cipher, agency_account_id, user_id, pkce.verifier
    )
    return oauth.authorization_url(state, pkce.challenge, scope=oauth.agency_scope)


def finish_agency_consent(
    control: Control,
    oauth: OAuthClient,
    api: ApiFactory,
    *,
    state: str,
    code: str,
    user_id: str,
) -> AgencyAccount:
    """Finish the admin's sign-in: use the state up (only ``user_id``, who began it, can), then
    exchange the code with its PKCE verifier, read ``/me`` and store the pair as the agency
    account's connection.

    Raises ``AgencyStateUnusable`` (unknown, used, expired, another admin's), ``InvalidGrant``
    (code refused), ``Conflict`` (that Allegro account is another agency account's, or this one
    is bound to a different Allegro account), or another ``AllegroError`` from Allegro.
    """
    consumed = agency_oauth_states.consume_agency_state(
        control.engine, control.tokens.cipher, state, user_id
    )
    tokens = oauth.exchange_code(
        code, consumed.code_verifier, customer_id=consumed.agency_account_id
    )
    return _bind(control, api, oauth, consumed.agency_account_id, tokens)


def _bind(
    control: Control,
    api: ApiFactory,
    oauth: OAuthClient,
    agency_account_id: str,
    tokens: TokenSet,
) -> AgencyAccount:
    """Read ``/me`` with the new pair and store it as the agency account's connection.

    Stand-in for ``bind_agency_account`` (written with the device flow), to be merged into it.
    """
    provider = StaticTokenProvider(oauth, {agency_account_id: tokens})
    with api(provider) as client:
        me = client.me(agency_account_id)
    control.tokens.save_agency_connection(
        agency_account_id,
        provider.token_set(agency_account_id),  # /me may have refreshed it
        allegro_login=me.login,
        allegro_user_id=me.id,
    )
    found = agency_accounts.get_agency_account(control.engine, agency_account_id)
    if found is None:  # deleted meanwhile: the token row would belong to nobody
        raise NotFound(f"agency account {agency_account_id} disappeared while connecting")
    return found


def refresh_client_list(
    control: Control, client: AllegroAdsClient, agency_account_id: str
) -> ListingChanges:
    """List one connected agency account's clients now and record the listing (the portal does
    this right after connecting, so the clients are there to adopt before the daily run).

    ``Conflict`` for a deactivated account; Allegro's errors as raised by the client.
    """
    account = agency_accounts.get_agency_account(control.engine, agency_account_id)
    if account is None:
        raise NotFound(f"no agency account {agency_account_id}")
    if not account.active:
        raise Conflict(f"agency account {account.name} is deactivated; its clients are not listed")
    listed = client.list_agency_clients(agency_account_id)
    return agency_clients.record_client_listing(
        control.engine,
        agency_account_id,
        [(c.id, c.name) for c in listed],
        datetime.now(UTC),
    )
