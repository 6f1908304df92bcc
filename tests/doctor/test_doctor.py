"""``allegro-ads doctor`` against real stores and the simulator: green when all is well, and
each broken piece named with what to do."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from allegro_ads.cli import main
from allegro_ads.doctor import Finding, check_agency_accounts, run_checks
from control_store import customers
from control_store.agency_accounts import AgencyAccount
from services.control import open_control
from settings.config import load_settings
from simulator.server import RunningSimulator
from tests.control.control_helpers import fake_tokens

Connect = Callable[[str], str]

CHECKS = {
    "configuration",
    "production settings",
    "control store",
    "warehouse",
    "token keys",
    "signing key",
    "mail",
    "allegro auth",
    "allegro api",
    "agency accounts",
    "statistics links",
    "sales accounts",
}


def failed(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings if not f.ok}


def test_all_green_with_fresh_stores_the_simulator_and_a_connected_customer(
    connect: Connect, allegro: RunningSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    connect(allegro.users()[0]["login"])
    findings = run_checks()
    assert {f.check for f in findings} == CHECKS
    assert failed(findings) == {}

    assert main(["doctor", "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    assert "✗" not in out and "all checks passed" in out
    assert "decrypt all 2 stored tokens" in out  # the agency account's and the customer's
    assert "1 connected" in out


def test_an_out_of_date_control_store_says_run_db_upgrade(
    isolated_settings: Path,
    allegro: RunningSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    isolated_settings.mkdir(parents=True)
    url = f"sqlite:///{isolated_settings / 'control.db'}"  # exists, never upgraded
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE leftover (id INTEGER)"))
        conn.commit()
    engine.dispose()
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", url)

    findings = failed(run_checks())
    assert "control store" in findings
    assert findings["control store"].fix == "run `allegro-ads db upgrade`"
    assert "schema empty" in findings["control store"].detail

    assert main(["doctor"]) == 1
    assert "allegro-ads db upgrade" in capsys.readouterr().out


def test_a_wrong_token_key_names_allegro_ads_token_keys(
    connect: Connect,
    allegro: RunningSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customer_id = connect(allegro.users()[0]["login"])
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", new_key)

    findings = failed(run_checks())
    assert set(findings) == {"token keys"}
    assert "ALLEGRO_ADS_TOKEN_KEYS" in findings["token keys"].fix
    assert customer_id in findings["token keys"].detail

    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "ALLEGRO_ADS_TOKEN_KEYS" in out
    assert new_key not in out  # never a secret


def test_a_garbled_token_key_is_reported_not_raised(
    agency: AgencyAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", "not-a-fernet-key")
    findings = failed(run_checks())
    assert set(findings) == {"token keys"}
    assert "ALLEGRO_ADS_TOKEN_KEYS" in findings["token keys"].detail


def test_an_unreachable_allegro_is_reported(
    agency: AgencyAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ALLEGRO_ADS_API_URL", f"http://127.0.0.1:{port}")

    findings = failed(run_checks(allegro_timeout=2))
    assert set(findings) == {"allegro auth", "allegro api"}
    assert "unreachable" in findings["allegro auth"].detail
    assert "ALLEGRO_ADS_AUTH_URL" in findings["allegro auth"].fix
    assert "ALLEGRO_ADS_API_URL" in findings["allegro api"].fix


def test_a_customer_needing_reauth_is_named_with_the_links_create_fix(
    connect: Connect, allegro: RunningSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    logins = [user["login"] for user in allegro.users()[:2]]
    healthy, broken = (connect(login) for login in logins)
    with open_control(load_settings()) as control, control.tokens.locked(broken) as row:
        row.mark_needs_reauth("invalid_grant: refresh token revoked", datetime.now(UTC))

    findings = [f for f in run_checks() if not f.ok]
    assert [f.check for f in findings] == ["sales accounts", f"  {logins[1]}"]
    assert "1 connected" in findings[0].detail and "1 needs_reauth" in findings[0].detail
    assert findings[1].fix.startswith(f"allegro-ads links send {broken} ")
    assert healthy not in findings[1].detail

    assert main(["doctor"]) == 1
    assert f"allegro-ads links send {broken}" in capsys.readouterr().out


def test_no_connected_agency_account_says_so_with_the_command(
    fresh_stores: tuple[str, str], allegro: RunningSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = failed(run_checks())
    assert set(findings) == {"agency accounts"}
    assert "no agency account is connected" in findings["agency accounts"].detail
    assert findings["agency accounts"].fix == "allegro-ads agency connect"

    assert main(["doctor"]) == 1
    assert "allegro-ads agency connect" in capsys.readouterr().out


def test_a_broken_agency_connection_names_every_customer_it_stops(
    connect: Connect, agency: AgencyAccount, allegro: RunningSimulator
) -> None:
    logins = [str(user["login"]) for user in allegro.users()[:2]]
    for login in logins:
        connect(login)
    with open_control(load_settings()) as control, control.tokens.locked(agency.id) as row:
        row.mark_needs_reauth("invalid_grant: refresh token revoked", datetime.now(UTC))

    findings = [f for f in run_checks() if not f.ok]

    assert [f.check for f in findings] == ["agency accounts", f"  {agency.name}"]
    assert "needs_reauth; stops 2 customers" in findings[1].detail
    assert all(login in findings[1].detail for login in logins)
    assert findings[1].fix == f"allegro-ads agency connect {agency.name}"


def test_an_expiring_agency_connection_fails_and_names_its_customers(
    connect: Connect, agency: AgencyAccount, allegro: RunningSimulator
) -> None:
    login = str(allegro.users()[0]["login"])
    connect(login)
    settings = load_settings()
    with open_control(settings) as control:
        info = control.tokens.info(agency.id)
    assert info is not None
    almost_over = info.refresh_expires_at - timedelta(days=1)

    header, named = check_agency_accounts(settings, now=almost_over)

    assert not header.ok and header.detail == "1 expiring"
    assert not named.ok and f"expiring; will stop 1 customer: {login}" in named.detail
    assert named.fix.startswith(f"allegro-ads agency connect {agency.name} before ")


def test_a_customer_from_before_agency_accounts_is_told_what_is_missing(
    fresh_stores: tuple[str, str], allegro: RunningSimulator
) -> None:
    with open_control(load_settings()) as control:
        earlier = customers.create_customer(control.engine, "Sklep Sprzed Agencji")
        control.tokens.save_consent(
            earlier.id,
            fake_tokens("earlier"),
            allegro_login="seller01",
            allegro_user_id="1001",
            ads_client_id="client-from-the-old-api",
        )

    findings = failed(run_checks())

    links = findings["statistics links"]
    assert "seller token and an Allegro Ads client id but no agency link" in links.detail
    assert "Sklep Sprzed Agencji" in links.detail
    assert links.fix == (
        "connect the agency account: allegro-ads agency connect; the daily client listing "
        "links them"
    )


def test_production_with_plain_http_urls_is_flagged(
    fresh_stores: tuple[str, str], allegro: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_ENV", "production")
    monkeypatch.setenv("ALLEGRO_ADS_CLIENT_ID", "agency-app")
    monkeypatch.setenv("ALLEGRO_ADS_CLIENT_SECRET", "s3cret-value-for-test")
    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("ALLEGRO_ADS_SIGNING_KEY", "x" * 40)

    findings = [f for f in run_checks() if f.check == "production settings"]
    assert not any(f.ok for f in findings)
    details = " ".join(f.detail for f in findings)
    assert "ALLEGRO_ADS_PUBLIC_URL is http://127.0.0.1:8000 (not https)" in details
    assert "s3cret" not in details + " ".join(f.fix for f in findings)


def test_a_configuration_error_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_LOOKBACK_DAYS", "many")
    findings = run_checks()
    assert [f.check for f in findings] == ["configuration"]
    assert "ALLEGRO_ADS_LOOKBACK_DAYS" in findings[0].detail
    assert main(["doctor"]) == 1
    assert "ALLEGRO_ADS_LOOKBACK_DAYS" in capsys.readouterr().out
