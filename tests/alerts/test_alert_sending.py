"""Alerts through a real SMTP server and a real webhook receiver on loopback: each change is told
once (its start, then its end), with the customer, the reason, the fix and the link; a restart
(a new process over the same control store) sends nothing again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from control_store.database import write
from control_store.schema import oauth_tokens
from services.alert_rules import FailedRun
from tests.alerts.fixtures import (
    AGENCY,
    MODA_ADDRESS,
    OTHER,
    PUBLIC_URL,
    SHOP,
    STAFF,
    AlertWorld,
    build_world,
)


def test_a_broken_agency_connection_is_emailed_to_staff_once_with_its_customers_and_command(
    world: AlertWorld,
) -> None:
    world.break_agency()
    world.sweep()
    world.later()
    world.sweep()

    staff, _moda = world.smtp.wait_for(2)
    assert staff.subject == f"[{AGENCY}] Agency connection {AGENCY} needs re-authorisation"
    assert staff.recipients == STAFF
    assert "statistics stop for 2 customers" in staff.text
    assert f"Customers (2): {OTHER}, {SHOP}" in staff.text
    assert f'allegro-ads agency connect "{AGENCY}"' in staff.text
    assert f"{PUBLIC_URL}/portal/agency-accounts" in staff.text
    assert len(world.smtp.received()) == 2


def test_a_portfolio_address_is_told_naming_only_its_own_customers(world: AlertWorld) -> None:
    world.break_agency()
    world.sweep()
    _staff, moda = world.smtp.wait_for(2)
    assert moda.recipients == (MODA_ADDRESS,)
    assert f"Customers (1): {SHOP}" in moda.text
    assert OTHER not in moda.raw


def test_a_mended_connection_is_told_resolved_once(world: AlertWorld) -> None:
    world.break_agency()
    world.sweep()
    world.later()
    world.mend_agency()
    world.sweep()
    world.later()
    world.sweep()

    _staff, _moda, resolved, resolved_moda = world.smtp.wait_for(4)
    assert resolved.subject == (
        f"[{AGENCY}] Resolved: Agency connection {AGENCY} needs re-authorisation"
    )
    assert "Nothing more to do" in resolved.text
    assert (resolved.recipients, resolved_moda.recipients) == (STAFF, (MODA_ADDRESS,))
    assert len(world.smtp.received()) == 4


def test_a_restarted_sender_over_the_same_store_sends_nothing_again(
    world: AlertWorld, tmp_path: Path
) -> None:
    world.break_agency()
    world.sweep()
    world.smtp.wait_for(2)  # staff, and the portfolio's address
    world.control.close()

    # A new process: a new engine, new channels, the same control store file.
    from services.control import open_control

    world.control = open_control(world.control.settings)
    world.later()
    told = world.sweep()

    assert told == []
    assert len(world.smtp.received()) == 2


def test_the_webhook_gets_one_slack_message_per_change(world: AlertWorld) -> None:
    world.break_sales()
    world.sweep()
    world.sweep()
    [post] = world.webhook.wait_for(1)
    assert post["content_type"] == "application/json"
    assert post["text"].startswith(f":rotating_light: *{SHOP}: the Allegro sales account needs")
    assert (
        f"<{PUBLIC_URL}/portal/customers/{world.shop_id}#send-link|Send a new link>"
        in (post["text"])
    )
    assert len(world.webhook.received()) == 1


def test_a_sales_connection_alert_offers_a_new_link_by_mail(world: AlertWorld) -> None:
    world.break_sales()
    world.sweep()
    mail, _moda = world.smtp.wait_for(2)
    assert mail.subject == f"[{AGENCY}] {SHOP}: the Allegro sales account needs re-authorisation"
    assert f'allegro-ads links send "{SHOP}"' in mail.text
    assert f"Send a new link: {PUBLIC_URL}/portal/customers/{world.shop_id}#send-link" in mail.text


def test_a_client_that_left_the_agency_is_told_with_what_to_do(world: AlertWorld) -> None:
    world.remove_client("client-2")
    world.sweep()
    [mail] = world.smtp.wait_for(1)
    assert mail.subject == f"[{AGENCY}] {OTHER} left the agency in Allegro Ads"
    assert "accept the agency's request again" in mail.text
    assert f"allegro-ads customers deactivate {world.other_id}" in mail.text


def test_a_customer_not_loaded_for_a_day_is_told_with_the_repair_run(world: AlertWorld) -> None:
    stale_day = world.now.date() - timedelta(days=3)

    def shop_behind(ids: Sequence[str]) -> dict[str, date | None]:
        return {i: (stale_day if i == world.shop_id else world.now.date()) for i in ids}

    world.loaded_yesterday = shop_behind  # type: ignore[method-assign]
    world.sweep()
    mail, _moda = world.smtp.wait_for(2)
    assert mail.subject == f"[{AGENCY}] {SHOP}: statistics not loaded for a day or more"
    assert f"loaded since {stale_day:%Y-%m-%d}" in mail.text
    assert f"{{customers: [{world.shop_id}]}}" in mail.text


def test_a_failed_run_is_told_once_and_its_success_resolves_it(world: AlertWorld) -> None:
    failed = FailedRun("daily_job", "run-4f2a", "ad_daily_stats failed: Allegro answered 503")
    world.sweep(failed_runs=(failed,))
    world.sweep(failed_runs=(failed,))
    world.sweep()
    failure, resolved = world.smtp.wait_for(2)
    assert failure.subject == f"[{AGENCY}] Dagster run of daily_job failed"
    assert "Run run-4f2a of daily_job failed: ad_daily_stats failed: Allegro answered 503" in (
        failure.text
    )
    assert resolved.subject.startswith(f"[{AGENCY}] Resolved: Dagster run of daily_job failed")
    assert len(world.smtp.received()) == 2


def test_nothing_is_sent_without_a_channel_and_what_still_holds_is_told_once_configured(
    world: AlertWorld,
) -> None:
    world.break_agency()
    world.sweep(world.channels(mail=False, webhook=False))
    assert world.smtp.received() == [] and world.webhook.received() == []
    world.sweep()
    assert len(world.smtp.wait_for(2)) == 2


def test_an_unreachable_mail_server_is_retried_on_the_next_pass(tmp_path: Path) -> None:
    from testing.mail_server import mail_server
    from testing.webhook_receiver import webhook_receiver

    with mail_server() as smtp, webhook_receiver() as webhook:
        world = build_world(tmp_path, smtp, webhook)
    # Both receivers are gone: the pass reaches nobody, so the alert stays pending.
    world.break_agency()
    [attempt] = world.sweep()
    assert not attempt.delivered.reached_someone
    assert "refused the connection" in attempt.delivered.errors[0]
    with mail_server() as smtp, webhook_receiver() as webhook:
        world.smtp, world.webhook = smtp, webhook
        world.sweep()
        world.sweep()
        assert len(smtp.wait_for(2)) == 2 and len(webhook.wait_for(1)) == 1
        assert len(smtp.received()) == 2  # staff, and the portfolio's address
    world.control.close()


def test_an_expiring_connection_that_breaks_is_told_as_broken_without_a_resolved_message(
    world: AlertWorld,
) -> None:
    ends = world.now + timedelta(days=2)
    with write(world.control.engine) as conn:
        conn.execute(
            oauth_tokens.update()
            .where(oauth_tokens.c.account_id == world.agency_id)
            .values(refresh_expires_at=ends)
        )
    world.sweep()
    world.later()
    world.break_agency()
    world.sweep()

    staff = [m.subject for m in world.smtp.wait_for(4) if m.recipients == STAFF]
    assert staff == [
        f"[{AGENCY}] Agency connection {AGENCY} expires {ends:%Y-%m-%d}",
        f"[{AGENCY}] Agency connection {AGENCY} needs re-authorisation",
    ]
    assert len(world.smtp.received()) == 4
