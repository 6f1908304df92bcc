"""Connecting an agency account: its Allegro authorisation stored as an ``agency`` connection.

Both flows end in ``bind_agency_account``: ``/me`` read with the new pair names the Allegro
account, which is bound to the agency account and stored encrypted with the pair (one
transaction). The device flow (the CLI's ``allegro-ads agency connect``) and the code flow
with state and PKCE (the portal's "Connect agency account") each have a section below.

The pair just granted is not in the control store until it is bound, so ``/me`` is read through
a client holding it in memory: build that client with ``connection_client``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.calllog import CallLogSink
from allegro_resource.models import TokenSet
from allegro_resource.oauth import (
    DeviceAuthorization,
    DeviceCodeExpired,
    OAuthClient,
    new_pkce,
)
from allegro_resource.static_tokens import StaticTokenProvider
from control_store import agency_accounts, agency_clients, agency_oauth_states, customers
from control_store.agency_accounts import AgencyAccount
from control_store.agency_clients import ListingChanges
from control_store.database import Conflict, NotFound
from services import clients
from services.control import Control

# --- the device flow and binding (CLI) -------------------------------------------------------


class DeviceConnectTimedOut(DeviceCodeExpired):
    """Nobody confirmed the code within the time the caller allowed (``--timeout``)."""

    def __init__(self, account: AgencyAccount, waited: timedelta) -> None:
        super().__init__("not confirmed in time")
        self.args = (
            f"the code was not confirmed within {_duration(waited)}; agency account "
            f"{account.name} is not connected: run `allegro-ads agency connect "
            f"{_quoted(account.name)}` again and confirm the new code in time",
        )


@runtime_checkable
class HeldTokens(Protocol):
    """A token provider that can be handed a pair to use (``StaticTokenProvider``)."""

    def access_token(
        self, account_id: str, /, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> str: ...

    def put(self, customer_id: str, tokens: TokenSet) -> None: ...

    def token_set(self, customer_id: str) -> TokenSet: ...


def connection_client(
    control: Control, oauth: OAuthClient, call_log: CallLogSink | None = None
) -> AllegroAdsClient:
    """The client that reads ``/me`` (and the first client list) with a pair just granted:
    its tokens are held in memory until ``bind_agency_account`` stores them."""
    return clients.ads_client(control.settings, StaticTokenProvider(oauth), call_log)


def bind_agency_account(
    control: Control, api: AllegroAdsClient, agency_account_id: str, tokens: TokenSet
) -> AgencyAccount:
    """Read ``/me`` with ``tokens`` and store them as the agency account's connection, bound to
    that Allegro account (``TokenStore.save_agency_connection``, one transaction).

    ``api`` must hold its tokens in memory (``connection_client``). Raises ``Conflict`` (nothing
    stored) if the Allegro account is another agency account's or a customer's sales account,
    or this agency account is bound to a different Allegro account; ``NotFound`` / ``Conflict``
    for an unknown or deactivated agency account; ``AllegroError`` if ``/me`` fails.
    """
    held = api.tokens
    if not isinstance(held, HeldTokens):
        raise TypeError(
            "bind_agency_account needs a client holding the new pair in memory: "
            "build it with services.agency_connect.connection_client"
        )
    if agency_accounts.get_agency_account(control.engine, agency_account_id) is None:
        raise NotFound(
            f"no agency account {agency_account_id}; list them with: allegro-ads agency list"
        )
    held.put(agency_account_id, tokens)
    me = api.me(agency_account_id)
    _refuse_customer_account(control, me.id, me.login)
    control.tokens.save_agency_connection(
        agency_account_id,
        held.token_set(agency_account_id),  # /me may have refreshed it
        allegro_login=me.login,
        allegro_user_id=me.id,
    )
    bound = agency_accounts.get_agency_account(control.engine, agency_account_id)
    assert bound is not None  # checked above; accounts are never deleted
    return bound


def _refuse_customer_account(control: Control, allegro_user_id: str, login: str) -> None:
    """A customer's sales account signed in where the agency's was meant: its token cannot
    list clients, and binding it would refuse that customer's own consent later."""
    for customer in customers.list_customers(control.engine):
        if customer.allegro_user_id == allegro_user_id:
            raise Conflict(
                f"Allegro account {login} is the sales account of customer {customer.name}, "
                "not the agency's; sign in on Allegro as the agency's own account and connect "
                "again"
            )


@dataclass(frozen=True)
class PendingDeviceConnect:
    """A started device flow: show ``verification_uri`` and ``user_code``, then finish."""

    account: AgencyAccount
    created: bool  # the agency account was created by this start
    device: DeviceAuthorization

    @property
    def verification_uri(self) -> str:
        return self.device.verification_uri

    @property
    def verification_uri_complete(self) -> str | None:
        return self.device.verification_uri_complete

    @property
    def user_code(self) -> str:
        return self.device.user_code

    @property
    def expires_at(self) -> datetime:
        return self.device.expires_at


def start_device_connect(control: Control, oauth: OAuthClient, name: str) -> PendingDeviceConnect:
    """Start connecting the agency account ``name`` (id or name; created if the name is new)
    by the device flow, asking for the agency scope.

    Raises ``Conflict`` for a deactivated account, ``ValueError`` for an unusable name, and
    ``AllegroError`` if Allegro refuses to start the flow.
    """
    created = False
    try:
        account = agency_accounts.find_agency_account(control.engine, name)
    except NotFound:
        account = agency_accounts.create_agency_account(control.engine, name)
        created = True
    if not account.active:
        raise Conflict(
            f"agency account {account.name} ({account.id}) is deactivated; connect the Allegro "
            "account under a new name"
        )
    device = oauth.start_device_flow(control.settings.agency_scope)
    return PendingDeviceConnect(account=account, created=created, device=device)


def finish_device_connect(
    control: Control,
    oauth: OAuthClient,
    api: AllegroAdsClient,
    pending: PendingDeviceConnect,
    *,
    sleep: Callable[[float], None] = time.sleep,
    timeout: timedelta | None = None,
    on_poll: Callable[[str], None] | None = None,
) -> AgencyAccount:
    """Poll at Allegro's interval (``slow_down`` widens it) until the code is confirmed, then
    bind the pair (``bind_agency_account``; ``api`` from ``connection_client``).

    ``timeout``: give up earlier than the code's own expiry (``DeviceConnectTimedOut``).
    Raises ``DeviceAuthorizationDenied`` (refused on Allegro's page), ``DeviceCodeExpired``,
    and whatever ``bind_agency_account`` raises.
    """
    wait = sleep
    if timeout is not None:
        wait = _limited_sleep(sleep, timeout, pending.account)
    tokens = oauth.wait_for_device_token(pending.device, sleep=wait, on_poll=on_poll)
    return bind_agency_account(control, api, pending.account.id, tokens)


def record_clients_now(
    control: Control, api: AllegroAdsClient, agency_account_id: str, now: datetime | None = None
) -> ListingChanges:
    """List the agency account's clients once, right after connecting (the CLI) or on the
    portal's button, so they can be adopted without waiting for the daily listing
    (``agency_clients.record_client_listing``).

    ``NotFound`` / ``Conflict`` for an unknown / deactivated account; ``Forbidden`` when the
    account is not an Ads Partner agency account (its token cannot list clients),
    ``AllegroError`` on other failures; nothing is recorded then.
    """
    account = agency_accounts.get_agency_account(control.engine, agency_account_id)
    if account is None:
        raise NotFound(
            f"no agency account {agency_account_id}; list them with: allegro-ads agency list"
        )
    if not account.active:
        raise Conflict(f"agency account {account.name} is deactivated; its clients are not listed")
    listed = api.list_agency_clients(agency_account_id)
    return agency_clients.record_client_listing(
        control.engine,
        agency_account_id,
        [(client.id, client.name) for client in listed],
        now or datetime.now(UTC),
    )


def _limited_sleep(
    sleep: Callable[[float], None], timeout: timedelta, account: AgencyAccount
) -> Callable[[float], None]:
    """``sleep`` that gives up once the waits would pass ``timeout`` (counted in the waits
    themselves, so a simulated clock or a slow poll does not change the verdict)."""
    limit = timeout.total_seconds()
    waited = 0.0

    def wait(seconds: float) -> None:
        nonlocal waited
        if waited + seconds > limit:
            raise DeviceConnectTimedOut(account, timeout)
        sleep(seconds)
        waited += seconds

    return wait


def _duration(waited: timedelta) -> str:
    seconds = int(waited.total_seconds())
    if seconds % 60 or seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min"


def _quoted(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else f'"{name}"'


# --- the code flow (portal: state + PKCE bound to the admin's session) ----------------------


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
    *,
    state: str,
    code: str,
    user_id: str,
    call_log: CallLogSink | None = None,
) -> AgencyAccount:
    """Finish the admin's sign-in: use the state up (only ``user_id``, who began it, can), then
    exchange the code with its PKCE verifier and bind the pair (``bind_agency_account``).

    Raises ``AgencyStateUnusable`` (unknown, used, expired, another admin's), ``InvalidGrant``
    (code refused), ``Conflict`` (that Allegro account is another agency account's or a
    customer's, or this one is bound to a different Allegro account), or another
    ``AllegroError`` from Allegro.
    """
    consumed = agency_oauth_states.consume_agency_state(
        control.engine, control.tokens.cipher, state, user_id
    )
    tokens = oauth.exchange_code(
        code, consumed.code_verifier, customer_id=consumed.agency_account_id
    )
    with connection_client(control, oauth, call_log) as api:
        return bind_agency_account(control, api, consumed.agency_account_id, tokens)
