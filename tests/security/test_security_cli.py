"""The command line under hostile arguments: names that look like SQL are stored as text or
named as unknown in one line, bad ids and dates exit with one line, and nothing else changes."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from allegro_ads.cli import main
from control_store import customers
from services.control import open_control
from tests.security.security_helpers import changed, row_counts

INJECTION = "' OR '1'='1' --"
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], cheap_password_hashing: None) -> Cli:
    """``allegro-ads ARGV`` in-process on an upgraded store: (status, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    assert run("db", "upgrade")[0] == 0
    assert run("customers", "add", "Prawdziwy Sklep")[0] == 0
    return run


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_customer_name_that_looks_like_sql_is_stored_as_text(cli: Cli) -> None:
    name = "Robert'); DROP TABLE customers; --"
    code, out, _ = cli("customers", "add", name)
    assert code == 0 and name in out
    with open_control() as control:
        stored = {c.name for c in customers.list_customers(control.engine)}
    assert stored == {"Prawdziwy Sklep", name}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("links", "create", INJECTION), "no customer"),
        (("links", "revoke", INJECTION), "no link"),
        (("links", "list", INJECTION), "no customer"),
        (("customers", "deactivate", INJECTION), "no customer"),
        (("portfolios", "assign", INJECTION, INJECTION), "no"),
        (("portfolios", "grant", "x@agency.test", INJECTION), "no"),
        (("users", "deactivate", INJECTION), "not an email address"),
        (("agency", "clients", INJECTION), "no agency account"),
        (("agency", "adopt", INJECTION), "no client"),
        (("agency", "link", INJECTION, "Prawdziwy Sklep"), "no client"),
        (("agency", "unlink", INJECTION), "no customer"),
        (("tokens", "refresh", INJECTION), "no customer or agency account"),
    ],
)
def test_an_id_or_name_that_looks_like_sql_is_unknown_in_one_line(
    cli: Cli, argv: tuple[str, ...], says: str
) -> None:
    with open_control() as control:
        before = row_counts(control.engine)
    code, out, err = cli(*argv)
    assert code == 1 and out == ""
    assert says in one_line(err)
    with open_control() as control:
        assert changed(before, row_counts(control.engine)) == {}
        (found,) = customers.list_customers(control.engine)
    assert found.active


@pytest.mark.parametrize(
    "argv",
    [
        ("export", "--from", "2024-02-30", "--to", "2024-03-01", "--out", "x.csv"),
        ("export", "--from", "' OR 1=1", "--to", "2024-03-01", "--out", "x.csv"),
        ("links", "create", "Prawdziwy Sklep", "--ttl", "1d; rm -rf /"),
        ("serve", "--port", "0"),
        ("serve", "--port", "70000"),
        ("serve", "--port", "8000; id"),
        ("users", "add", "x@agency.test", "--role", "root"),
        ("agency", "connect", "Agencja", "--timeout", "1d; rm -rf /"),
        ("agency", "adopt", "--name"),
    ],
)
def test_a_malformed_argument_exits_2_with_one_line_and_changes_nothing(
    cli: Cli, argv: tuple[str, ...]
) -> None:
    with open_control() as control:
        before = row_counts(control.engine)
    code, out, err = cli(*argv)
    assert code == 2 and out == ""
    assert "error:" in one_line(err)
    with open_control() as control:
        assert changed(before, row_counts(control.engine)) == {}


def test_an_export_for_a_customer_id_that_looks_like_sql_selects_no_rows(
    cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "export.csv"
    code, printed, _ = cli(
        "export",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-02",
        "--customer",
        INJECTION,
        "--out",
        str(out),
    )
    assert code == 0 and "wrote 0 row(s)" in printed
    assert out.read_text().count("\n") == 1  # the header only


def test_an_export_into_a_missing_folder_writes_nothing_and_says_so(
    cli: Cli, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    out = exports / "no" / ".." / "no-such-dir" / "x.csv"
    code, _, err = cli("export", "--from", "2024-03-01", "--to", "2024-03-01", "--out", str(out))
    assert code == 1 and "does not exist" in one_line(err)
    assert list(exports.iterdir()) == []


def test_a_password_on_standard_input_is_never_printed(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cret-on-stdin-'; DROP TABLE users; --"
    monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
    code, out, err = cli(
        "users", "add", "stdin@agency.test", "--role", "viewer", "--password-stdin"
    )
    assert code == 0
    listed = cli("users", "list")[1]
    assert secret not in out + err + listed
