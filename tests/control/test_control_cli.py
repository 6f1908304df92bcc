"""The admin command line: customers, links, tokens, users, portfolios, keys, db."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from allegro_ads.cli import main
from control_store import auth_links, customers
from control_store.database import head_revision, make_engine
from control_store.token_store import TokenStore
from services.link_signing import verify_link_token
from settings.config import load_settings
from testing.simulated_consent import token_from_url
from tests.control.control_helpers import fake_tokens

REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``allegro-ads ARGV`` in-process: (exit status, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    assert run(capsys, "db", "upgrade")[0] == 0
    return lambda *argv: run(capsys, *argv)


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def _store() -> TokenStore:
    settings = load_settings()
    return TokenStore(make_engine(settings.resolved_control_url), settings.fernet_keys)


def test_commands_refuse_a_store_without_schema_and_db_upgrade_is_idempotent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "customers", "list")
    assert code == 1 and out == ""
    assert "run `allegro-ads db upgrade`" in _one_line(err)

    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and f"upgraded from empty to schema {head_revision()}" in out
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and f"already at schema {head_revision()}" in out
    assert "current" in run(capsys, "db", "status")[1]


def test_db_upgrade_works_on_postgresql_by_url(
    capsys: pytest.CaptureFixture[str], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_password = make_url(postgres_url).set(password="s3kret-pw")  # trust auth ignores it
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", with_password.render_as_string(False))
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and f"schema {head_revision()}" in out
    assert "s3kret-pw" not in out and "***" in out
    assert run(capsys, "customers", "add", "Na Postgresie")[0] == 0


def test_customers_add_then_list_shows_status_and_details(cli: Cli) -> None:
    code, out, _ = cli("customers", "add", "Sklep  Ogrodowy", "--currency", "eur")
    assert code == 0 and "added customer Sklep Ogrodowy as c_" in out
    code, out, _ = cli("customers", "list")
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.split()[:2] == ["ID", "NAME"] and "ADS CLIENT" in header
    assert "Sklep Ogrodowy" in row and "EUR" in row and "not connected" in row


def test_a_duplicate_customer_name_is_a_one_line_error(cli: Cli) -> None:
    assert cli("customers", "add", "Duplikat")[0] == 0
    code, out, err = cli("customers", "add", "Duplikat")
    assert code == 1 and out == ""
    assert "a customer named 'Duplikat' already exists" in _one_line(err)


def test_unknown_customers_and_bad_currencies_are_named(cli: Cli) -> None:
    code, _, err = cli("links", "create", "Nieznany")
    assert code == 1 and "no customer 'Nieznany'" in _one_line(err)
    code, _, err = cli("customers", "deactivate", "Nieznany")
    assert code == 1 and "allegro-ads customers list" in _one_line(err)
    code, _, err = cli("customers", "add", "X", "--currency", "zloty")
    assert code == 1 and "three-letter currency" in _one_line(err)


def test_links_create_prints_a_url_with_a_signed_token(cli: Cli) -> None:
    cli("customers", "add", "Linkowany")
    code, out, _ = cli("links", "create", "Linkowany", "--ttl", "30m")
    assert code == 0
    url = out.splitlines()[0]
    settings = load_settings()
    assert url.startswith(f"{settings.public_url}/authorize/")
    link_id = verify_link_token(settings.signing_secret, token_from_url(url))
    engine = make_engine(settings.resolved_control_url)
    link = auth_links.get_link(engine, link_id)
    assert link is not None and link.state() is auth_links.LinkState.VALID
    assert 29 * 60 < (link.expires_at - link.created_at).total_seconds() <= 30 * 60
    customer = customers.find_customer(engine, "Linkowany")
    assert link.customer_id == customer.id
    engine.dispose()


@pytest.mark.parametrize("ttl", ["3 parsecs", "0h", "-5m", "72", "90d", ""])
def test_a_bad_ttl_exits_2_with_one_line(cli: Cli, ttl: str) -> None:
    code, out, err = cli("links", "create", "whoever", "--ttl", ttl)
    assert code == 2 and out == ""
    assert "--ttl" in _one_line(err)


def test_links_list_and_revoke(cli: Cli) -> None:
    cli("customers", "add", "Odwołany")
    cli("links", "create", "Odwołany")
    _, out, _ = cli("links", "list", "Odwołany")
    link_id = out.strip().splitlines()[1].split()[0]
    assert "valid" in out
    code, out, _ = cli("links", "revoke", link_id)
    assert code == 0 and f"revoked link {link_id}" in out
    assert "revoked" in cli("links", "list")[1]
    code, _, err = cli("links", "revoke", "no-such-link")
    assert code == 1 and "no link no-such-link" in _one_line(err)


def test_tokens_status_never_prints_a_token(cli: Cli) -> None:
    cli("customers", "add", "Połączony")
    cli("customers", "add", "Niepołączony")
    store = _store()
    customer = customers.find_customer(store.engine, "Połączony")
    tokens = fake_tokens("visible?")
    store.save_consent(customer.id, tokens, allegro_login="seller03", allegro_user_id="3")
    code, out, err = cli("tokens", "status")
    store.engine.dispose()
    assert code == 0
    for secret in (tokens.access_token, tokens.refresh_token, "visible?"):
        assert secret not in out + err
    assert "seller03" in out and "connected" in out and "not connected" in out
    assert "REFRESH EXPIRES" in out and "LAST ERROR" in out


def test_users_add_list_deactivate_with_password_on_stdin(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    code, out, _ = cli("users", "add", "Anna@Agency.PL", "--role", "admin", "--password-stdin")
    assert code == 0 and "anna@agency.pl" in out and "correct horse" not in out
    _, out, _ = cli("users", "list")
    assert "anna@agency.pl" in out and "admin" in out and "$argon2" not in out
    assert cli("users", "deactivate", "ANNA@agency.pl")[0] == 0
    code, _, err = cli("users", "deactivate", "nobody@agency.pl")
    assert code == 1 and "no user nobody@agency.pl" in _one_line(err)
    code, _, err = cli("users", "add", "x@y.pl", "--role", "owner")
    assert code == 2 and "--role" in _one_line(err)


def test_users_add_prompts_twice_and_refuses_different_passwords(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["first password", "second password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = cli("users", "add", "v@agency.pl", "--role", "viewer")
    assert code == 1 and "passwords differ" in _one_line(err)
    answers = iter(["long enough pw", "long enough pw"])
    assert cli("users", "add", "v@agency.pl", "--role", "viewer")[0] == 0


def test_portfolios_group_customers_and_grant_viewers(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("viewer password\n"))
    cli("users", "add", "view@agency.pl", "--role", "viewer", "--password-stdin")
    assert cli("portfolios", "add", "Moda")[0] == 0
    cli("customers", "add", "Butik")
    code, out, _ = cli("portfolios", "assign", "Butik", "Moda")
    assert code == 0 and "is in portfolio Moda" in out
    assert "now sees" in cli("portfolios", "grant", "view@agency.pl", "Moda")[1]
    assert "already saw" in cli("portfolios", "grant", "view@agency.pl", "Moda")[1]
    assert "no longer sees" in cli("portfolios", "revoke", "view@agency.pl", "Moda")[1]
    assert "Moda" in cli("customers", "list")[1]
    code, _, err = cli("portfolios", "grant", "ghost@agency.pl", "Moda")
    assert code == 1 and "no user ghost@agency.pl" in _one_line(err)
    code, _, err = cli("portfolios", "assign", "Butik", "Nie Ma")
    assert code == 1 and "no portfolio 'Nie Ma'" in _one_line(err)


def test_keys_generate_then_rotate_reencrypts_every_token(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli("keys", "generate")
    new_key = out.strip()
    Fernet(new_key.encode())  # a valid key
    old_key = load_settings().fernet_keys[0]
    cli("customers", "add", "Rotowany")
    store = _store()
    tokens = fake_tokens("rot")
    store.save_consent(customers.find_customer(store.engine, "Rotowany").id, tokens)
    store.engine.dispose()

    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", f"{new_key},{old_key}")
    code, out, _ = cli("keys", "rotate")
    assert code == 0 and "re-encrypted the tokens of 1 customer" in out

    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", new_key)
    store = _store()
    stored = store.read(customers.find_customer(store.engine, "Rotowany").id)
    store.engine.dispose()
    assert stored is not None and stored.access_token == tokens.access_token

    monkeypatch.setenv("ALLEGRO_ADS_TOKEN_KEYS", Fernet.generate_key().decode())
    code, _, err = cli("keys", "rotate")
    assert code == 1 and "ALLEGRO_ADS_TOKEN_KEYS" in _one_line(err)


def test_the_installed_command_prints_one_line_for_a_bad_duration(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_ADS_")}
    env["ALLEGRO_ADS_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "allegro_ads", "links", "create", "x", "--ttl", "soon"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "is not a duration" in _one_line(result.stderr)


def test_a_link_whose_random_part_starts_with_a_dash_is_revoked_by_its_listed_id(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One random URL-safe id in 64 starts with "-", which argparse reads as an option.
    monkeypatch.setattr(auth_links.secrets, "token_urlsafe", lambda _: "-dashed-random-part")
    cli("customers", "add", "Myślnik")
    cli("links", "create", "Myślnik")
    _, out, _ = cli("links", "list", "Myślnik")
    link_id = out.strip().splitlines()[1].split()[0]
    code, out, err = cli("links", "revoke", link_id)
    assert code == 0 and f"revoked link {link_id}" in out, err
