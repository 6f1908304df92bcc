"""The consent flow end to end: the web app's ``/authorize/<token>`` and ``/oauth/callback``."""

from __future__ import annotations

from allegro_resource.oauth import OAuthClient, new_pkce
from allegro_resource.static_tokens import StaticTokenProvider
from control_store import auth_links, customers
from control_store.customers import Customer
from services import clients
from services.control import Control
from services.link_signing import verify_link_token


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
    return oauth.authorization_url(state, pkce.challenge)


def finish_consent(control: Control, oauth: OAuthClient, *, state: str, code: str) -> Customer:
    """Complete a consent: use the state once, exchange the code, bind the account, store tokens.

    Raises ``auth_links.StateUnusable``, ``auth_links.LinkUnusable``, ``InvalidGrant`` (code
    refused) or ``control_db.Conflict`` (account already connected to another customer).
    """
    consumed = auth_links.consume_oauth_state(control.engine, control.tokens.cipher, state)
    auth_links.require_usable(control.engine, consumed.link_id)
    tokens = oauth.exchange_code(code, consumed.code_verifier, customer_id=consumed.customer_id)
    provider = StaticTokenProvider(oauth, {consumed.customer_id: tokens})
    with clients.ads_client(control.settings, provider) as api:
        me = api.me(consumed.customer_id)
    # A seller's token cannot list agency clients (the agency account's token does, issue 12):
    # the consent binds the sales account only; the agency link is made elsewhere.
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
