"""One pass of alerting: read what holds now, record it in the control store's alert states, and
tell each change once (e-mail to staff and the portfolio's address, and the webhook).

A change is claimed in the control store before it is sent, so two sensors, or a daemon that
restarts, never send it twice; when no channel reached anyone the claim is released and the
next pass tries again. With no channel configured the states are still recorded, and nothing is
claimed: configuring mail later tells what still holds then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from allegro_resource.windows import reporting_today
from control_store import agency_accounts, agency_clients, alert_states, customers, portfolios
from control_store.account_kind import AccountKind
from control_store.alert_states import AlertState
from control_store.token_store import token_status
from services.agency_status import agency_connections
from services.alert_delivery import AlertChannels, Delivered, deliver
from services.alert_messages import AlertText, firing_text, resolved_text
from services.alert_rules import (
    SUPERSEDED_BY,
    Alert,
    AlertSnapshot,
    FailedRun,
    current_alerts,
    subject_of,
)
from services.control import Control
from services.mail import recipients

log = logging.getLogger("services.alerts")

LatestDays = Callable[[Sequence[str]], Mapping[str, date | None]]


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """What the rules need beyond the stores: the portal's address for action links, when a
    connection counts as expiring, and the calendar of the statistics."""

    public_url: str
    expiring_days: float
    reporting_timezone: str


@dataclass(frozen=True, slots=True)
class Told:
    """One change told (or tried): the alert, its new state, and what reached whom."""

    key: str
    state: str
    subject: str
    delivered: Delivered


def gather_snapshot(
    control: Control,
    config: AlertConfig,
    now: datetime,
    *,
    latest_days: LatestDays | None,
    failed_runs: Sequence[FailedRun] = (),
) -> AlertSnapshot:
    """What the rules read, from the control store; ``latest_days`` reads the warehouse (a
    failure there leaves freshness out of this pass rather than failing it)."""
    engine = control.engine
    active = customers.list_customers(engine, active_only=True)
    sales = {
        info.account_id: token_status(info, now, config.expiring_days).value
        for info in control.tokens.list_info(AccountKind.SALES)
    }
    removed = frozenset(
        client.customer_id
        for account in agency_accounts.list_agency_accounts(engine)
        for client in agency_clients.clients_of(engine, account.id)
        if client.removed and client.customer_id
    )
    days: Mapping[str, date | None] | None = None
    if latest_days is not None:
        try:
            days = latest_days([c.id for c in active if c.has_statistics_link])
        except Exception as exc:  # freshness waits for the next pass; the rest goes on
            log.warning("latest loaded days unavailable: %s: %s", type(exc).__name__, exc)
    return AlertSnapshot(
        now=now,
        today=reporting_today(now, tz=config.reporting_timezone),
        public_url=config.public_url,
        agencies=agency_connections(engine, control.tokens, now, config.expiring_days),
        customers=active,
        sales_statuses=sales,
        removed_clients=removed,
        latest_days=days,
        failed_runs=tuple(failed_runs),
    )


def sweep(control: Control, channels: AlertChannels, snapshot: AlertSnapshot) -> list[Told]:
    """Record the alerts of ``snapshot`` and tell every change not told yet, once."""
    engine = control.engine
    alerts = {alert.key: alert for alert in current_alerts(snapshot)}
    pending = alert_states.record_conditions(
        engine, {key: alert.title for key, alert in alerts.items()}, snapshot.now
    )
    if not channels.configured:
        return []
    addresses = _portfolio_addresses(control)
    subjects = _subject_portfolios(control)
    told = []
    for state in pending:
        if state.state == "resolved" and _superseded(state.key, alerts):
            # A worse alert of the same subject began: its message says all there is.
            alert_states.claim_notification(engine, state.key, "resolved", snapshot.now)
            continue
        alert = alerts.get(state.key)
        if state.state == "firing" and alert is None:
            continue  # raised by a pass that knew more; that pass tells it
        if not alert_states.claim_notification(engine, state.key, state.state, snapshot.now):
            continue  # another pass told it meanwhile
        subject, delivered = _tell(state, alert, channels, addresses, subjects)
        for error in delivered.errors:
            log.warning("alert %s (%s): %s", state.key, state.state, error)
        if delivered.attempted and not delivered.reached_someone:
            alert_states.release_notification(engine, state)
        told.append(Told(state.key, state.state, subject, delivered))
    return told


def _tell(
    state: AlertState,
    alert: Alert | None,
    channels: AlertChannels,
    addresses: Mapping[str, str],
    subjects: Mapping[str, tuple[str, ...]],
) -> tuple[str, Delivered]:
    """Send one change: staff and the webhook get the whole message; each portfolio address
    its own version, naming only that portfolio's customers. Returns the staff subject."""
    if alert is not None and state.state == "firing":
        text = firing_text(alert, channels.agency_name, channels.secrets)
        also = [
            (
                addresses[p],
                firing_text(alert, channels.agency_name, channels.secrets, portfolio_id=p),
            )
            for p in alert.portfolio_ids
            if p in addresses
        ]
    else:
        resolved_at = state.resolved_at or state.since
        text = resolved_text(
            state.summary, state.since, resolved_at, channels.agency_name, channels.secrets
        )
        ids = subjects.get(subject_of(state.key), ())
        also = [(addresses[p], text) for p in ids if p in addresses]
    staff = recipients(channels.staff)
    known = {address.lower() for address in staff}
    unique: dict[str, AlertText] = {}
    for address, version in also:
        if address.lower() not in known:
            unique.setdefault(address.lower(), version)
    return text.subject, deliver(channels, text, staff, list(unique.items()))


def _superseded(key: str, alerts: Mapping[str, Alert]) -> bool:
    kind, _, subject = key.partition(":")
    worse = SUPERSEDED_BY.get(kind)
    return worse is not None and f"{worse}:{subject}" in alerts


def _portfolio_addresses(control: Control) -> dict[str, str]:
    return {
        p.id: p.alert_email for p in portfolios.list_portfolios(control.engine) if p.alert_email
    }


def _subject_portfolios(control: Control) -> dict[str, tuple[str, ...]]:
    """Each customer's and each agency account's portfolios, for alerts that have ended (their
    message still goes where the beginning went)."""
    found: dict[str, set[str]] = {}
    for customer in customers.list_customers(control.engine):
        if customer.portfolio_id is None:
            continue
        found.setdefault(customer.id, set()).add(customer.portfolio_id)
        if customer.agency_account_id:
            found.setdefault(customer.agency_account_id, set()).add(customer.portfolio_id)
    return {subject: tuple(sorted(ids)) for subject, ids in found.items()}
