"""Asking Allegro whether each stored connection still works: ``GET /me`` with its token.

A withdrawn consent shows only when a token is used: the call answers 401, the refresh that
follows is refused, and the token manager marks the connection ``needs_reauth`` (the state the
alerts read). The alert sensor runs this check every ``connection_check_seconds``, so a revoked
connection is told within a tick rather than at the next daily run. Short timeouts and few
retries: a sensor tick must end well within Dagster's limit.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from allegro_resource.client_config import ClientConfig
from allegro_resource.errors import AllegroError, NeedsReauthorization
from allegro_resource.token_status import TokenStatus
from control_store import agency_accounts, customers
from control_store.api_call_log import ControlStoreCallLog
from services.clients import token_manager
from services.control import Control

PROBE_TIMEOUT_SECONDS = 10.0
PROBE_ATTEMPTS = 2
PROBE_RETRY_SECONDS = 15.0
# A sensor tick must end well within Dagster's 60 s: the accounts not reached wait for the next
# check (agency accounts come first: each stops many customers).
CHECK_BUDGET_SECONDS = 30.0
# Stored states a check can only confirm: Allegro already refused, or staff revoked.
_SETTLED = frozenset({TokenStatus.NEEDS_REAUTH.value, TokenStatus.REVOKED.value})


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    account_id: str
    account_name: str
    outcome: str  # "ok", "needs_reauth" or "unreachable: <error type>"


def check_connections(
    control: Control,
    config: ClientConfig,
    *,
    run_id: str,
    now: datetime | None = None,
    budget_seconds: float = CHECK_BUDGET_SECONDS,
) -> list[ConnectionCheck]:
    """Read ``/me`` with every usable connection of an active agency account or customer,
    agency accounts first, until ``budget_seconds`` have passed or Allegro cannot be reached
    (then the rest would only wait for timeouts)."""
    now = now or datetime.now(UTC)
    probe = replace(
        config.capped(max_attempts=PROBE_ATTEMPTS, max_retry_seconds=PROBE_RETRY_SECONDS),
        timeout_seconds=min(config.timeout_seconds, PROBE_TIMEOUT_SECONDS),
    )
    active = {a.id for a in agency_accounts.list_agency_accounts(control.engine, active_only=True)}
    active |= {c.id for c in customers.list_customers(control.engine, active_only=True)}
    usable = [
        info
        for info in control.tokens.list_info()
        if info.account_id in active
        and info.status not in _SETTLED
        and info.refresh_expires_at > now
    ]
    if not usable:
        return []
    results = []
    deadline = time.monotonic() + budget_seconds
    with (
        ControlStoreCallLog(control.engine) as call_log,
        closing(probe.oauth(call_log, run_id=run_id)) as oauth,
        probe.ads_client(token_manager(control, oauth), call_log, run_id=run_id) as client,
    ):
        for info in usable:
            try:
                client.me(info.account_id)
            except NeedsReauthorization:
                outcome = "needs_reauth"
            except AllegroError as exc:
                outcome = f"unreachable: {type(exc).__name__}"
            else:
                outcome = "ok"
            results.append(ConnectionCheck(info.account_id, info.account_name, outcome))
            if outcome.startswith("unreachable") or time.monotonic() >= deadline:
                break
    return results
