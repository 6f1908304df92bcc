"""The state of every alert: which conditions hold, since when, and what people were last told.

A sensor reports the conditions that hold now (``record_conditions``); an alert that starts, or
ends, becomes *pending* until a sender claims its telling (``claim_notification``). State lives
here, not in the daemon, so a restart neither forgets nor repeats a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, Row, select, update

from control_store.database import write
from control_store.schema import alert_states

AlertStateName = Literal["firing", "resolved"]


@dataclass(frozen=True, slots=True)
class AlertState:
    key: str
    state: AlertStateName
    summary: str
    since: datetime
    notified_state: AlertStateName | None
    notified_at: datetime | None
    resolved_at: datetime | None

    @property
    def pending(self) -> bool:
        """The current state has not been told yet."""
        return self.notified_state != self.state


def _state(row: Row[Any]) -> AlertState:
    return AlertState(**dict(row._mapping))


def list_alert_states(engine: Engine) -> list[AlertState]:
    """Every alert ever raised, by key."""
    with engine.connect() as conn:
        return [_state(row) for row in conn.execute(select(alert_states).order_by("key"))]


def get_alert_state(engine: Engine, key: str) -> AlertState | None:
    with engine.connect() as conn:
        row = conn.execute(select(alert_states).where(alert_states.c.key == key)).first()
    return None if row is None else _state(row)


def record_conditions(engine: Engine, firing: Mapping[str, str], now: datetime) -> list[AlertState]:
    """Record that exactly the alerts of ``firing`` (key → one-line summary) hold at ``now``.

    An alert not firing before starts; a firing one absent from ``firing`` is resolved. An
    alert that ends before it was ever told is dropped silently (nothing to take back). Returns
    every alert whose state has not been told yet, by key, in one transaction so two sensors
    racing see one start.
    """
    with write(engine) as conn:
        known = {row.key: _state(row) for row in conn.execute(select(alert_states))}
        for key, summary in firing.items():
            current = known.get(key)
            if current is None:
                conn.execute(
                    alert_states.insert().values(
                        key=key,
                        state="firing",
                        summary=summary,
                        since=now,
                        notified_state=None,
                        notified_at=None,
                        resolved_at=None,
                    )
                )
            elif current.state == "resolved":
                conn.execute(
                    update(alert_states)
                    .where(alert_states.c.key == key)
                    .values(state="firing", summary=summary, since=now, resolved_at=None)
                )
        for key, current in known.items():
            if current.state != "firing" or key in firing:
                continue
            told = current.notified_state is not None
            conn.execute(
                update(alert_states)
                .where(alert_states.c.key == key)
                .values(
                    state="resolved",
                    since=now,
                    resolved_at=now,
                    # Never told it started: there is nothing to say now it ended.
                    notified_state=current.notified_state if told else "resolved",
                    notified_at=current.notified_at if told else now,
                )
            )
        pending = conn.execute(
            select(alert_states)
            .where(
                (alert_states.c.notified_state.is_(None))
                | (alert_states.c.notified_state != alert_states.c.state)
            )
            .order_by(alert_states.c.key)
        )
        return [_state(row) for row in pending]


def claim_notification(engine: Engine, key: str, state: AlertStateName, now: datetime) -> bool:
    """Claim the telling of ``state`` of alert ``key``: True for the one caller that may send it
    (recorded as told at once, so a second sensor or a restart never sends it again); False if
    it was told already or the alert has changed since (its new state is then pending)."""
    with write(engine) as conn:
        result = conn.execute(
            update(alert_states)
            .where(
                alert_states.c.key == key,
                alert_states.c.state == state,
                (alert_states.c.notified_state.is_(None))
                | (alert_states.c.notified_state != state),
            )
            .values(notified_state=state, notified_at=now)
        )
        return result.rowcount == 1


def release_notification(engine: Engine, claimed: AlertState) -> None:
    """Undo ``claim_notification`` when nothing could be delivered: the state is pending again
    and the next tick retries."""
    with write(engine) as conn:
        conn.execute(
            update(alert_states)
            .where(alert_states.c.key == claimed.key, alert_states.c.state == claimed.state)
            .values(notified_state=claimed.notified_state, notified_at=claimed.notified_at)
        )
