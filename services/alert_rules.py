"""Which alerts hold now: plain functions from a snapshot of the control store, the warehouse's
freshness and the latest runs to a list of ``Alert``s (no Dagster, no I/O).

Each alert has a stable ``key`` (``KIND:SUBJECT``), so the alert states in the control store can
tell a new alert from one already told. Its text names the customers it concerns, the reason
and the fix (a command, or a page of the portal); it never holds a token or a secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from allegro_resource.token_status import TokenStatus
from control_store.customers import Customer
from services.agency_status import AgencyConnection

AGENCY_REAUTH = "agency_reauth"
AGENCY_EXPIRING = "agency_expiring"
SALES_REAUTH = "sales_reauth"
NOT_LOADED = "not_loaded"
CLIENT_LEFT = "client_left"
RUN_FAILED = "run_failed"

# An alert that ends because a worse one of the same subject began needs no "resolved" message.
SUPERSEDED_BY = {AGENCY_EXPIRING: AGENCY_REAUTH}
# Statuses that stop a connection: Allegro refused the refresh, or the pair ran out.
NEEDS_REAUTH = frozenset({TokenStatus.NEEDS_REAUTH.value, TokenStatus.EXPIRED.value})
# A customer whose latest loaded day is older than this many days before today (in the
# reporting zone) has missed at least one whole daily run: yesterday is the newest day served.
NOT_LOADED_AFTER_DAYS = 2
# A customer linked less than this long ago has not been due a run yet.
NEW_CUSTOMER_GRACE = timedelta(days=1)
# Named in an alert; longer lists say how many more.
MAX_NAMES = 10


@dataclass(frozen=True, slots=True)
class Affected:
    """A customer an alert concerns, and its portfolio (whose alert address is told too)."""

    name: str
    portfolio_id: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    """One condition that needs someone: what, why, and what to do about it."""

    key: str  # KIND:SUBJECT, stable while the condition lasts
    title: str  # one line: the e-mail subject and the "resolved" message's name for it
    reason: str
    fix: str
    customers: tuple[Affected, ...] = ()
    action_url: str | None = None  # a portal page that fixes it
    action_label: str | None = None

    @property
    def kind(self) -> str:
        return self.key.partition(":")[0]

    @property
    def portfolio_ids(self) -> tuple[str, ...]:
        return tuple(sorted({c.portfolio_id for c in self.customers if c.portfolio_id}))

    def names(self, portfolio_id: str | None = None) -> tuple[str, ...]:
        """The customers' names; of one portfolio's only when given (what its address sees)."""
        return tuple(
            c.name for c in self.customers if portfolio_id is None or c.portfolio_id == portfolio_id
        )


@dataclass(frozen=True, slots=True)
class FailedRun:
    """A job whose latest finished run failed."""

    job_name: str
    run_id: str
    error: str  # the failure's first line, as Dagster recorded it


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """Everything the rules read, gathered by ``services.alert_sweep``."""

    now: datetime
    today: date  # in the reporting time zone
    public_url: str
    agencies: Sequence[AgencyConnection]
    customers: Sequence[Customer]  # the active ones
    sales_statuses: Mapping[str, str]  # customer id -> TokenStatus value (connected ones only)
    removed_clients: frozenset[str]  # customers whose agency client left the list
    latest_days: Mapping[str, date | None] | None  # None: the warehouse could not be read
    failed_runs: Sequence[FailedRun] = field(default=())


def current_alerts(snapshot: AlertSnapshot) -> list[Alert]:
    """Every alert that holds in ``snapshot``, by key."""
    alerts = [
        *agency_alerts(snapshot),
        *sales_alerts(snapshot),
        *client_left_alerts(snapshot),
        *not_loaded_alerts(snapshot),
        *run_alerts(snapshot),
    ]
    return sorted(alerts, key=lambda alert: alert.key)


def agency_alerts(snapshot: AlertSnapshot) -> list[Alert]:
    """An active agency account whose connection needs re-authorisation or is expiring: it
    stops (or will stop) every customer linked to it."""
    alerts = []
    portal = _portal(snapshot.public_url, "agency-accounts")
    for connection in snapshot.agencies:
        account = connection.account
        if not account.active:
            continue
        command = f"allegro-ads agency connect {_arg(account.name)}"
        affected = _affected(connection.customers)
        # The names go in the message's customer list: a portfolio's address sees its own only.
        stops = _count(len(affected))
        if connection.status in NEEDS_REAUTH:
            alerts.append(
                Alert(
                    key=f"{AGENCY_REAUTH}:{account.id}",
                    title=f"Agency connection {account.name} needs re-authorisation",
                    reason=(
                        f"Allegro no longer accepts the agency account {account.name}'s "
                        f"connection ({connection.status}): statistics stop for {stops}."
                    ),
                    fix=f"Connect it again, signed in to Allegro as the agency: {command}",
                    customers=affected,
                    action_url=portal,
                    action_label="Connect the agency account in the portal",
                )
            )
        elif connection.expiring and connection.info is not None:
            ends = connection.info.refresh_expires_at
            alerts.append(
                Alert(
                    key=f"{AGENCY_EXPIRING}:{account.id}",
                    title=f"Agency connection {account.name} expires {ends:%Y-%m-%d}",
                    reason=(
                        f"The agency account {account.name}'s connection ends on "
                        f"{ends:%Y-%m-%d %H:%M} UTC: statistics will stop for {stops}."
                    ),
                    fix=f"Connect it again before then: {command}",
                    customers=affected,
                    action_url=portal,
                    action_label="Connect the agency account in the portal",
                )
            )
    return alerts


def sales_alerts(snapshot: AlertSnapshot) -> list[Alert]:
    """A customer's sales account that needs re-authorisation: its offer details stop until the
    customer follows a new consent link."""
    alerts = []
    for customer in snapshot.customers:
        status = snapshot.sales_statuses.get(customer.id)
        if status not in NEEDS_REAUTH:
            continue
        send = f"allegro-ads links send {_arg(customer.name)}"
        if customer.contact_email:
            fix = f"Send the customer a new consent link by e-mail: {send}"
        else:
            fix = (
                "Set the customer's contact address (allegro-ads customers contact "
                f"{_arg(customer.name)} EMAIL), then send a new consent link: {send}"
            )
        alerts.append(
            Alert(
                key=f"{SALES_REAUTH}:{customer.id}",
                title=f"{customer.name}: the Allegro sales account needs re-authorisation",
                reason=(
                    f"Allegro no longer accepts {customer.name}'s sales-account connection "
                    f"({status}): offer names, prices and stock stop updating (statistics "
                    "go on)."
                ),
                fix=fix,
                customers=_affected([customer]),
                action_url=_portal(snapshot.public_url, f"customers/{customer.id}") + "#send-link",
                action_label="Send a new link",
            )
        )
    return alerts


def client_left_alerts(snapshot: AlertSnapshot) -> list[Alert]:
    """An active customer whose client is no longer on its agency account's list in Allegro
    Ads: the seller ended the agency's access, so its statistics cannot be read."""
    alerts = []
    for customer in snapshot.customers:
        if customer.id not in snapshot.removed_clients:
            continue
        alerts.append(
            Alert(
                key=f"{CLIENT_LEFT}:{customer.id}",
                title=f"{customer.name} left the agency in Allegro Ads",
                reason=(
                    f"Client {customer.ads_client_id} ({customer.name}) is no longer on the "
                    "agency account's client list: its statistics cannot be read."
                ),
                fix=(
                    "Ask the seller to accept the agency's request again in Allegro Ads, or "
                    f"stop pulling its data: allegro-ads customers deactivate {customer.id}"
                ),
                customers=_affected([customer]),
                action_url=_portal(snapshot.public_url, f"customers/{customer.id}"),
                action_label="Open the customer",
            )
        )
    return alerts


def not_loaded_alerts(snapshot: AlertSnapshot) -> list[Alert]:
    """A customer linked for statistics whose latest loaded day is a day or more behind (or who
    was never loaded a day after being added). Customers of a broken agency connection are left
    to that connection's alert, which names them."""
    if snapshot.latest_days is None:
        return []  # the warehouse is not readable now: say nothing rather than guess
    behind = snapshot.today - timedelta(days=NOT_LOADED_AFTER_DAYS)
    broken = {
        customer.id
        for connection in snapshot.agencies
        if connection.status in NEEDS_REAUTH
        for customer in connection.customers
    }
    alerts = []
    for customer in snapshot.customers:
        if (
            not customer.has_statistics_link
            or customer.id in snapshot.removed_clients
            or customer.id in broken
        ):
            continue  # nothing to load, or told by the client's or the agency's alert
        latest = snapshot.latest_days.get(customer.id)
        if latest is None and snapshot.now - customer.created_at < NEW_CUSTOMER_GRACE:
            continue
        if latest is not None and latest >= behind:
            continue
        since = f"since {latest:%Y-%m-%d}" if latest else "ever"
        fix = (
            "Look at the latest daily run in the Dagster UI (allegro-ads ui); reload the "
            "customer by launching ad_stats_job with ops: {ad_daily_stats: {config: "
            f"{{customers: [{customer.id}]}}}}"
        )
        alerts.append(
            Alert(
                key=f"{NOT_LOADED}:{customer.id}",
                title=f"{customer.name}: statistics not loaded for a day or more",
                reason=(
                    f"No statistics of {customer.name} were loaded {since}; yesterday "
                    f"({snapshot.today - timedelta(days=1):%Y-%m-%d}) is due."
                ),
                fix=fix,
                customers=_affected([customer]),
                action_url=_portal(snapshot.public_url, f"customers/{customer.id}"),
                action_label="Open the customer",
            )
        )
    return alerts


def run_alerts(snapshot: AlertSnapshot) -> list[Alert]:
    """A job whose latest finished run failed (one alert per job until a run of it succeeds)."""
    return [
        Alert(
            key=f"{RUN_FAILED}:{run.job_name}",
            title=f"Dagster run of {run.job_name} failed",
            reason=f"Run {run.run_id} of {run.job_name} failed: {run.error or 'see its logs'}",
            fix=(
                f"Open run {run.run_id} in the Dagster UI (allegro-ads ui, Runs), fix the "
                "cause it shows, then re-execute it"
            ),
        )
        for run in snapshot.failed_runs
    ]


def _affected(customers: Sequence[Customer]) -> tuple[Affected, ...]:
    return tuple(Affected(c.name, c.portfolio_id) for c in customers)


def _count(n: int) -> str:
    return f"{n} customer{'' if n == 1 else 's'}" if n else "no customers yet"


def _portal(public_url: str, path: str) -> str:
    return f"{public_url.rstrip('/')}/portal/{path}"


def _arg(text: str) -> str:
    """``text`` as one shell argument in a command people copy."""
    return text if text.replace("-", "").replace("_", "").isalnum() else f'"{text}"'


def subject_of(key: str) -> str:
    return key.partition(":")[2]


def named(names: Sequence[str]) -> str:
    """ "A, B and 3 more" (at most ``MAX_NAMES`` names)."""
    shown = ", ".join(names[:MAX_NAMES])
    return shown + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")
