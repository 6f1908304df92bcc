"""No alert carries a token or a secret: not the stored tokens, not the mail password, the keys,
the application's secret or the webhook's URL, even when a run's error quoted them."""

from __future__ import annotations

from services.alert_messages import REDACTED, scrub
from services.alert_rules import FailedRun
from tests.alerts.fixtures import CLIENT_SECRET, SIGNING_KEY, SMTP_PASSWORD, AlertWorld

STORED_TOKENS = (
    "ACCESS-agency-a8f3e2",
    "REFRESH-agency-b7d1c9",
    "ACCESS-shop-a8f3e2",
    "REFRESH-shop-b7d1c9",
)


def test_no_message_of_any_alert_holds_a_token_or_a_secret(world: AlertWorld) -> None:
    leaky = FailedRun(
        "daily_job",
        "run-9",
        "HTTP 401 for GET /me (Authorization: Bearer ACCESS-agency-a8f3e2) after POST "
        "/auth/oauth/token refresh_token=REFRESH-agency-b7d1c9&client_secret="
        f"{CLIENT_SECRET}; smtp {SMTP_PASSWORD}; key {SIGNING_KEY}; hook {world.webhook.url}",
    )
    world.break_agency()
    world.break_sales()
    world.remove_client("client-2")
    world.sweep(failed_runs=(leaky,))
    world.later()
    world.mend_agency()
    world.sweep()  # the agency's and the run's resolutions

    # Begun: agency and sales (staff + Moda's address each), client left, run; then ended:
    # agency (staff + Moda), run.
    mails = world.smtp.wait_for(9)
    posts = world.webhook.wait_for(6)
    assert (len(mails), len(posts)) == (9, 6)
    everything = [m.raw for m in mails] + [str(p) for p in posts]
    forbidden = (*STORED_TOKENS, SMTP_PASSWORD, SIGNING_KEY, CLIENT_SECRET, world.webhook.url)
    for text in everything:
        for secret in forbidden:
            assert secret not in text
    assert any("Bearer [redacted]" in m.text for m in mails)


def test_scrub_removes_token_shaped_values_it_was_not_told_about() -> None:
    text = 'answer {"access_token": "eyJhbGciOi.x.y", "expires_in": 43199} password=hunter22'
    assert scrub(text) == (
        f'answer {{"access_token": "{REDACTED}", "expires_in": 43199}} password={REDACTED}'
    )
