"""The alert states of the control store: each alert is pending once when it starts and once when
it ends, and told states are remembered (a new process reads them back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from control_store.alert_states import (
    claim_notification,
    get_alert_state,
    list_alert_states,
    record_conditions,
    release_notification,
)

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
KEY = "sales_reauth:c_1"


def test_a_new_condition_is_pending_until_told(engine: Engine) -> None:
    [pending] = record_conditions(engine, {KEY: "Sklep A needs re-authorisation"}, T0)
    assert (pending.key, pending.state, pending.since) == (KEY, "firing", T0)
    assert claim_notification(engine, KEY, "firing", T0)
    assert record_conditions(engine, {KEY: "Sklep A needs re-authorisation"}, T0) == []


def test_a_told_alert_that_ends_is_pending_as_resolved_once(engine: Engine) -> None:
    record_conditions(engine, {KEY: "Sklep A"}, T0)
    claim_notification(engine, KEY, "firing", T0)
    later = T0 + timedelta(hours=1)
    [pending] = record_conditions(engine, {}, later)
    assert (pending.state, pending.resolved_at, pending.summary) == ("resolved", later, "Sklep A")
    claim_notification(engine, KEY, "resolved", later)
    assert record_conditions(engine, {}, later + timedelta(hours=1)) == []


def test_an_alert_that_ends_before_it_was_told_needs_no_message(engine: Engine) -> None:
    record_conditions(engine, {KEY: "Sklep A"}, T0)
    assert record_conditions(engine, {}, T0 + timedelta(minutes=1)) == []


def test_an_alert_that_comes_back_is_told_again(engine: Engine) -> None:
    record_conditions(engine, {KEY: "Sklep A"}, T0)
    claim_notification(engine, KEY, "firing", T0)
    record_conditions(engine, {}, T0 + timedelta(hours=1))
    claim_notification(engine, KEY, "resolved", T0 + timedelta(hours=1))
    [pending] = record_conditions(engine, {KEY: "Sklep A"}, T0 + timedelta(hours=2))
    assert (pending.state, pending.resolved_at) == ("firing", None)


def test_a_state_is_claimed_by_one_caller_only(engine: Engine) -> None:
    record_conditions(engine, {KEY: "Sklep A"}, T0)
    assert claim_notification(engine, KEY, "firing", T0)
    assert not claim_notification(engine, KEY, "firing", T0)


def test_claiming_a_state_the_alert_has_left_changes_nothing(engine: Engine) -> None:
    record_conditions(engine, {KEY: "Sklep A"}, T0)
    claim_notification(engine, KEY, "firing", T0)
    record_conditions(engine, {}, T0 + timedelta(hours=1))
    assert not claim_notification(engine, KEY, "firing", T0 + timedelta(hours=1))
    state = get_alert_state(engine, KEY)
    assert state is not None and state.pending


def test_a_released_claim_is_pending_again(engine: Engine) -> None:
    [pending] = record_conditions(engine, {KEY: "Sklep A"}, T0)
    claim_notification(engine, KEY, "firing", T0)
    release_notification(engine, pending)
    assert [state.key for state in record_conditions(engine, {KEY: "Sklep A"}, T0)] == [KEY]


def test_every_alert_ever_raised_is_listed_with_what_was_told(engine: Engine) -> None:
    record_conditions(engine, {KEY: "Sklep A", "stale:c_2": "Sklep B"}, T0)
    claim_notification(engine, "stale:c_2", "firing", T0)
    listed = {state.key: state.notified_state for state in list_alert_states(engine)}
    assert listed == {KEY: None, "stale:c_2": "firing"}
