"""Which alerts hold (``services.alert_rules``), decided from the control store without Dagster:
expiring connections, and who counts as not loaded."""

from __future__ import annotations

from datetime import date, timedelta

from control_store.database import write
from control_store.schema import oauth_tokens
from services.alert_rules import AlertSnapshot, current_alerts
from services.alert_sweep import gather_snapshot
from tests.alerts.fixtures import AGENCY, AlertWorld


def _snapshot(world: AlertWorld, days: dict[str, date | None] | None = None) -> AlertSnapshot:
    def latest(ids: object) -> dict[str, date | None]:
        return dict(days or {})

    return gather_snapshot(world.control, world.config(), world.now, latest_days=latest)


def _keys(world: AlertWorld, days: dict[str, date | None] | None = None) -> list[str]:
    return [alert.key for alert in current_alerts(_snapshot(world, days))]


def _loaded(world: AlertWorld, day: date | None) -> dict[str, date | None]:
    return {world.shop_id: day, world.other_id: day}


def test_all_well_means_no_alert(world: AlertWorld) -> None:
    assert _keys(world, _loaded(world, world.now.date() - timedelta(days=1))) == []


def test_an_agency_connection_ending_within_the_expiring_days_is_an_alert(
    world: AlertWorld,
) -> None:
    with write(world.control.engine) as conn:
        conn.execute(
            oauth_tokens.update()
            .where(oauth_tokens.c.account_id == world.agency_id)
            .values(refresh_expires_at=world.now + timedelta(days=3))
        )
    [alert] = current_alerts(_snapshot(world, _loaded(world, world.now.date())))
    assert alert.key == f"agency_expiring:{world.agency_id}"
    assert (
        alert.title
        == f"Agency connection {AGENCY} expires {world.now + timedelta(days=3):%Y-%m-%d}"
    )
    assert "Connect it again before then" in alert.fix


def test_a_customer_that_missed_a_daily_run_is_not_loaded_but_one_awaiting_it_is_fine(
    world: AlertWorld,
) -> None:
    # Before the morning run, yesterday is not loaded yet: the day before it is the latest.
    today = world.now.date()
    days: dict[str, date | None] = {
        world.shop_id: today - timedelta(days=3),
        world.other_id: today - timedelta(days=2),
    }
    assert _keys(world, days) == [f"not_loaded:{world.shop_id}"]


def test_customers_of_a_broken_agency_connection_are_left_to_its_alert(
    world: AlertWorld,
) -> None:
    world.break_agency()
    assert _keys(world, _loaded(world, world.now.date() - timedelta(days=5))) == [
        f"agency_reauth:{world.agency_id}"
    ]


def test_an_unreadable_warehouse_raises_no_freshness_alert(world: AlertWorld) -> None:
    def unreadable(ids: object) -> dict[str, date | None]:
        raise OSError("warehouse locked")

    snapshot = gather_snapshot(world.control, world.config(), world.now, latest_days=unreadable)
    assert snapshot.latest_days is None and current_alerts(snapshot) == []
