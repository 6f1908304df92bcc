"""The customer's consent end to end (the web app's ``/authorize/<token>`` and
``/oauth/callback``): the customer authorises their own sales account through the signed,
expiring, single-use link.

The sales account reads seller data the agency API lacks (``/sale/offers``); statistics come
through the agency account's connection and the customer's agency client link, so nothing here
looks a client up. ``/me`` binds the customer to its Allegro account; an account already bound
to another customer is refused.
"""

from __future__ import annotations

from allegro_resource.oauth import OAuthClient, new_pkce
from allegro_resource.static_tokens import StaticTokenProvider
from control_store import agency_accounts, auth_links, customers
from control_store.customers import Customer
from control_store.database import Conflict
from services import clients
from services.control import Control
from services.link_signing import verify_link_token


class AgencyAccountNotSeller(Conflict):
    """The Allegro account that consented is one of the agency's own accounts."""


def begin_consent(control: Control, oauth: OAuthClient, signed_token: str) -> str:
    """Check the signed link and return the Allegro URL to redirect the browser to.

    Raises ``link_signing.InvalidLinkToken`` (forged/malformed) or ``auth_links.LinkUnusable``.
    """
    link_id = verify_link_token(control.settings.signing_secret, signed_token)
    auth_links.purge_oauth_states(control.engine)  # abandoned sign-ins; cheap
    pkce = new_pkce()
    state = auth_links.create_oauth_state(
        control.engine, control.tokens.cipher, link_id, pkce.verifier
    )
    # Only what a sales account is used for (offers, profile): never the agency's ads scope.
    return oauth.authorization_url(state, pkce.challenge, scope=control.settings.sales_scope)


def finish_consent(control: Control, oauth: OAuthClient, *, state: str, code: str) -> Customer:
    """Complete a consent: use the state once, exchange the code, bind the account, store tokens.

    Raises ``auth_links.StateUnusable``, ``auth_links.LinkUnusable``, ``InvalidGrant`` (code
    refused), ``Conflict`` (account already connected to another customer) or
    ``AgencyAccountNotSeller`` (the agency's own account signed in instead of the seller).
    """
    consumed = auth_links.consume_oauth_state(control.engine, control.tokens.cipher, state)
    auth_links.require_usable(control.engine, consumed.link_id)
    tokens = oauth.exchange_code(code, consumed.code_verifier, customer_id=consumed.customer_id)
    provider = StaticTokenProvider(oauth, {consumed.customer_id: tokens})
    with clients.ads_client(control.settings, provider) as api:
        me = api.me(consumed.customer_id)
    _refuse_agency_account(control, me.id, me.login)
    # The agency link (statistics) is made from the agency's client list, not here: a seller's
    # token cannot list agency clients.
    control.tokens.save_consent(
        consumed.customer_id,
        provider.token_set(consumed.customer_id),  # /me may have refreshed it
        allegro_login=me.login,
        allegro_user_id=me.id,
        link_id=consumed.link_id,
    )
    found = customers.get_customer(control.engine, consumed.customer_id)
    assert found is not None  # the link's foreign key guarantees it
    return found


def _refuse_agency_account(control: Control, allegro_user_id: str, login: str) -> None:
    """Staff testing a customer's link while signed in to Allegro as the agency would bind the
    agency's own account to the customer: refuse it."""
    for account in agency_accounts.list_agency_accounts(control.engine):
        if account.allegro_user_id == allegro_user_id:
            raise AgencyAccountNotSeller(
                f"Allegro account {login} is the agency account {account.name}, not a "
                "seller's; the customer must sign in with their own Allegro account"
            )
