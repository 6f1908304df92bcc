"""Discovery: each agency account's client list, read from Allegro and recorded.

``discover_clients`` lists the clients of every active, connected agency account
(``GET /advertising-agencies/clients`` with that account's token) into the control store's
``agency_clients``: new clients appear for adoption, clients that left are marked removed (their
customers' statistics stop with "access removed in Allegro Ads…"), customers from before agency
accounts whose ``ads_client_id`` is listed are linked. One agency account's failure is recorded
on its connection and never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import MissingScope, NeedsReauthorization
from control_store import agency_accounts
from control_store.account_kind import AccountKind
from control_store.agency_clients import (
    AgencyClient,
    ListingChanges,
    clients_of,
    record_client_listing,
)
from control_store.token_store import token_status
from services.control import Control
from services.stats_sync import ACCESS_REMOVED, USABLE, agency_connect_fix


@dataclass(frozen=True)
class FlaggedCustomer:
    """A customer whose agency client left the agency's list."""

    customer_id: str
    client_id: str
    client_name: str
    reason: str = ACCESS_REMOVED


@dataclass
class AgencyListing:
    """One agency account's listing: what changed, or why it could not be listed."""

    agency_account_id: str
    name: str
    clients: int = 0
    changes: ListingChanges | None = None
    error: str | None = None
    fix: str | None = None
    # Customers whose client is no longer in the list (flagged until it returns).
    flagged: list[FlaggedCustomer] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def new(self) -> tuple[AgencyClient, ...]:
        return self.changes.new if self.changes else ()

    @property
    def removed(self) -> tuple[AgencyClient, ...]:
        return self.changes.removed if self.changes else ()


def discover_clients(control: Control, api: AllegroAdsClient, now: datetime) -> list[AgencyListing]:
    """List and record the clients of every active agency account, by name.

    An account that is not connected or whose connection needs re-authorisation is reported
    (error and fix) without a call; a failed call is recorded on the account's connection
    (``last_error``; a refused refresh already marked it ``needs_reauth``) and reported.
    """
    connections = {i.account_id: i for i in control.tokens.list_info(AccountKind.AGENCY)}
    listings: list[AgencyListing] = []
    for account in agency_accounts.list_agency_accounts(control.engine, active_only=True):
        listing = AgencyListing(account.id, account.name)
        listings.append(listing)
        connection = connections.get(account.id)
        fix = agency_connect_fix(account.name)
        if connection is None:
            listing.error, listing.fix = "the agency account was never connected", fix
            continue
        status = token_status(connection, now, control.settings.expiring_days)
        if status not in USABLE:
            reason = connection.last_error or "no reason recorded"
            listing.error = f"the connection is {status.value} ({reason})"
            listing.fix = fix
            continue
        try:
            clients = api.list_agency_clients(account.id)
        except NeedsReauthorization as exc:  # the token manager stored the status
            listing.error, listing.fix = f"{type(exc).__name__}: {exc.reason}", fix
            continue
        except Exception as exc:  # one agency's failure never stops the others
            listing.error = f"{type(exc).__name__}: {exc}"
            retry = f"re-run; if it persists: {fix}"
            listing.fix = (exc.fix or fix) if isinstance(exc, MissingScope) else retry
            control.tokens.record_error(account.id, listing.error, now)
            continue
        listing.clients = len(clients)
        listing.changes = record_client_listing(
            control.engine, account.id, [(c.id, c.name) for c in clients], now
        )
        # Every customer whose client is gone, not only those gone since the last listing: the
        # flag stands until the seller accepts the agency's request again.
        listing.flagged = [
            FlaggedCustomer(c.customer_id, c.client_id, c.name)
            for c in clients_of(control.engine, account.id)
            if c.removed and c.customer_id is not None
        ]
    return listings
