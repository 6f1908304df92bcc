"""The admin command line: customers, links, tokens, users, portfolios, keys, db."""

from __future__ import annotations

import io
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from allegro_ads.cli import main
from control_store import agency_accounts, agency_clients, auth_links, customers
from control_store.database import head_revision, make_engine
from control_store.token_store import TokenStore
from services.link_signing import verify_link_token
from settings.config import load_settings
from simulator.server import RunningSimulator
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


def table_row(table: str, key: str, *, column: int = 0) -> list[str]:
    """The cells of the CLI table's row whose ``column`` holds ``key``."""
    for line in table.strip().splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) > column and cells[column] == key:
            return cells
    raise AssertionError(f"no row {key!r} in:\n{table}")


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
    assert code == 0 and "re-encrypted the tokens of 1 connection(s)" in out

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
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _: "-dashed-random-part")
    cli("customers", "add", "Myślnik")
    cli("links", "create", "Myślnik")
    _, out, _ = cli("links", "list", "Myślnik")
    link_id = out.strip().splitlines()[1].split()[0]
    code, out, err = cli("links", "revoke", link_id)
    assert code == 0 and f"revoked link {link_id}" in out, err


# --- allegro-ads agency ----------------------------------------------------------------------

CONNECT_GUARD_SECONDS = 60  # only against a hung test; every wait below ends on an event


@pytest.fixture
def allegro(
    simulator_factory: Callable[..., RunningSimulator], monkeypatch: pytest.MonkeyPatch
) -> RunningSimulator:
    """The simulator as Allegro, polled every second in the device flow (its shortest)."""
    sim = simulator_factory(device_interval_seconds=0)
    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", sim.base_url)
    monkeypatch.setenv("ALLEGRO_ADS_API_URL", sim.base_url)
    return sim


@dataclass
class Connecting:
    """``allegro-ads agency connect`` running as a real process, waiting for its code."""

    process: subprocess.Popen[str]
    printed: list[str]
    user_code: str

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=CONNECT_GUARD_SECONDS)
        return self.process.returncode, "".join(self.printed) + out, err


def start_connect(*argv: str) -> Connecting:
    """Start the command and read its output until it shows the code to confirm."""
    process = subprocess.Popen(
        [sys.executable, "-m", "allegro_ads", "agency", "connect", *argv],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    guard = threading.Timer(CONNECT_GUARD_SECONDS, process.kill)
    guard.start()
    printed: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            printed.append(line)
            found = re.search(r"enter the code (\S+)", line)
            if found:
                return Connecting(process, printed, found.group(1))
    finally:
        guard.cancel()
    _, err = process.communicate()
    raise AssertionError(f"no code printed:\n{''.join(printed)}\n{err}")


def test_agency_connect_prints_the_code_waits_for_its_confirmation_and_stores_the_pair(
    cli: Cli, allegro: RunningSimulator
) -> None:
    connecting = start_connect("Agencja Główna", "--timeout", "2m")
    assert f"open {allegro.base_url}/auth/oauth/device/verify" in "".join(connecting.printed)

    allegro.confirm_device(connecting.user_code, "agency")
    code, out, err = connecting.finish()

    assert code == 0, err
    assert "connected agency account Agencja Główna as Allegro account agency" in out
    assert f"{len(allegro.agency()['clients'])} new client(s) listed" in out
    store = _store()
    account = agency_accounts.find_agency_account(store.engine, "Agencja Główna")
    info, stored = store.info(account.id), store.read(account.id)
    store.engine.dispose()
    assert (account.allegro_login, account.allegro_user_id) == (
        "agency",
        str(allegro.agency()["user_id"]),
    )
    assert info is not None and (info.kind, info.status) == ("agency", "connected")
    assert stored is not None and stored.access_token not in out + err
    listed = table_row(cli("agency", "list")[1], account.id)
    assert listed[3:6] == ["connected", str(len(allegro.agency()["clients"])), "0"]


def test_agency_connect_refused_on_allegro_is_one_line_and_stores_no_tokens(
    cli: Cli, allegro: RunningSimulator
) -> None:
    connecting = start_connect("Odmowa")
    allegro.confirm_device(connecting.user_code, "agency", decision="deny")

    code, _, err = connecting.finish()

    assert code == 1
    assert "the authorisation was refused on Allegro's page" in _one_line(err)
    assert _store().list_info() == []


def test_agency_connect_gives_up_after_its_timeout_in_one_line(
    cli: Cli, allegro: RunningSimulator
) -> None:
    code, _, err = start_connect("Cierpliwa", "--timeout", "1s").finish()

    assert code == 1
    assert "the code was not confirmed within 1 s" in _one_line(err)
    assert "allegro-ads agency connect Cierpliwa" in err
    assert _store().list_info() == []
    assert table_row(cli("agency", "list")[1], "Cierpliwa", column=1)[3] == "not connected"


def _listed_agency(name: str, clients: list[tuple[str, str]]) -> str:
    """An agency account connected with fake tokens and these clients listed; its id."""
    store = _store()
    account = agency_accounts.create_agency_account(store.engine, name)
    store.save_agency_connection(
        account.id, fake_tokens(name), allegro_login=name.lower(), allegro_user_id=f"u-{name}"
    )
    agency_clients.record_client_listing(store.engine, account.id, clients, datetime.now(UTC))
    store.engine.dispose()
    return account.id


CLIENTS = [("cl-1", "Sklep Pierwszy"), ("cl-2", "Sklep Drugi"), ("cl-3", "Sklep Trzeci")]


def test_agency_adopt_creates_a_linked_customer_and_clients_show_each_state(cli: Cli) -> None:
    agency_id = _listed_agency("Agencja", CLIENTS)
    store = _store()
    agency_clients.record_client_listing(store.engine, agency_id, CLIENTS[:2], datetime.now(UTC))
    store.engine.dispose()
    cli("portfolios", "add", "Moda")

    code, out, _ = cli("agency", "adopt", "cl-1", "--name", "Pierwszy", "--portfolio", "Moda")

    assert code == 0 and "adopted client Sklep Pierwszy (cl-1) as customer Pierwszy" in out
    clients = cli("agency", "clients", "Agencja")[1]
    assert table_row(clients, "cl-1", column=1)[3:5] == ["adopted", "Pierwszy"]
    assert table_row(clients, "cl-2", column=1)[3] == "unadopted"
    assert table_row(clients, "cl-3", column=1)[3] == "removed"
    customer = table_row(cli("customers", "list")[1], "Pierwszy", column=1)
    assert customer[3] == "Moda" and customer[-2:] == ["Agencja", "cl-1"]


def test_agency_link_links_an_existing_customer_and_refuses_a_taken_client(cli: Cli) -> None:
    _listed_agency("Agencja", CLIENTS)
    cli("customers", "add", "Stary Sklep")
    cli("customers", "add", "Inny Sklep")

    code, out, _ = cli("agency", "link", "cl-2", "Stary Sklep")
    assert code == 0 and "linked customer Stary Sklep" in out and "(cl-2)" in out

    code, out, err = cli("agency", "link", "cl-2", "Inny Sklep")
    assert code == 1 and out == ""
    assert "client cl-2 of agency account Agencja is already linked to customer Stary Sklep" in (
        _one_line(err)
    )
    customer = table_row(cli("customers", "list")[1], "Inny Sklep", column=1)
    assert customer[-2:] == ["not linked", "-"]

    code, out, _ = cli("agency", "unlink", "Stary Sklep")
    assert code == 0 and "unlinked customer Stary Sklep from client cl-2" in out
    assert cli("agency", "link", "cl-2", "Inny Sklep")[0] == 0


def test_agency_list_names_how_many_customers_a_broken_connection_stops(cli: Cli) -> None:
    agency_id = _listed_agency("Agencja", CLIENTS)
    cli("agency", "adopt", "cl-1")
    cli("agency", "adopt", "cl-2")
    store = _store()
    store.revoke(agency_id, "consent withdrawn at Allegro")
    store.engine.dispose()

    code, out, _ = cli("agency", "list")

    assert code == 0
    assert table_row(out, agency_id)[3:6] == ["revoked", "3", "2"]
    assert (
        "agency account Agencja is revoked: it stops 2 customers: Sklep Drugi, Sklep Pierwszy; "
        "fix: allegro-ads agency connect Agencja"
    ) in out


def test_tokens_status_shows_agency_accounts_first(cli: Cli) -> None:
    _listed_agency("Agencja", CLIENTS)
    cli("agency", "adopt", "cl-1", "--name", "Aaa Sklep")

    code, out, _ = cli("tokens", "status")

    assert code == 0
    header, first, second = out.strip().splitlines()
    assert header.split()[:2] == ["ACCOUNT", "KIND"]
    assert first.split()[:3] == ["Agencja", "agency", "agencja"]
    assert second.split()[:4] == ["Aaa", "Sklep", "sales", "-"] and "not connected" in second


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("agency", "adopt"), "CLIENT_ID"),
        (("agency", "link", "cl-1"), "CUSTOMER"),
        (("agency", "connect", "X", "--timeout", "soon"), "--timeout"),
        (("agency", "disconnect"), "invalid choice"),
    ],
)
def test_wrong_agency_arguments_exit_2_with_one_line(
    cli: Cli, argv: tuple[str, ...], says: str
) -> None:
    code, out, err = cli(*argv)
    assert code == 2 and out == ""
    assert says in _one_line(err)


def test_expected_agency_failures_exit_1_with_one_line(cli: Cli) -> None:
    _listed_agency("Agencja", CLIENTS)
    _listed_agency("Druga", [("cl-1", "Sklep Pierwszy")])

    for argv, says in (
        (("agency", "adopt", "nie-ma"), "no client 'nie-ma' listed for any agency account"),
        (("agency", "adopt", "cl-1"), "listed by several agency accounts; add --agency"),
        (("agency", "clients", "Trzecia"), "no agency account 'Trzecia'"),
        (("agency", "connect"), "there are several agency accounts (Agencja, Druga)"),
        (("agency", "link", "cl-2", "Nieznany"), "no customer 'Nieznany'"),
    ):
        code, out, err = cli(*argv)
        assert code == 1 and out == "", argv
        assert says in _one_line(err), argv
