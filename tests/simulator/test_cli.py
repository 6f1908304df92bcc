"""``allegro-ads simulator``: validates its arguments in one line, serves until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from allegro_ads.cli import CommandError, OneLineArgumentParser
from allegro_ads.commands import simulator as command


def _parser() -> OneLineArgumentParser:
    parser = OneLineArgumentParser(prog="allegro-ads")
    command.register(parser.add_subparsers(dest="command", parser_class=OneLineArgumentParser))
    return parser


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "70000"],
        ["--port", "http"],
        ["--users", "0"],
        ["--access-ttl", "-5"],
        ["--max-range-days", "x"],
        ["--today", "22.11.2026"],
        ["--agencies", "0"],
        ["--code-ttl", "0"],
        ["--refresh-grace", "-1"],
        ["--non-public-status", "500"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["simulator", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and argv[0] in err


def test_arguments_become_the_simulator_configuration() -> None:
    args = _parser().parse_args(
        [
            "simulator",
            "--users",
            "3",
            "--redirect-uri",
            "http://a/cb",
            "--redirect-uri",
            "http://b/cb",
        ]
    )
    assert (args.users, args.port, args.host) == (3, 8765, "127.0.0.1")
    assert args.redirect_uris == ["http://a/cb", "http://b/cb"]
    assert (args.agencies, args.code_ttl, args.refresh_grace) == (1, 10, 60)
    assert (args.send_retry_after, args.clients_paging, args.state_file) == (False, False, None)
    assert args.non_public_status == 401


def test_the_revised_options_are_parsed() -> None:
    args = _parser().parse_args(
        [
            "simulator",
            "--agencies", "2",
            "--state-file", "/tmp/sim.json",
            "--code-ttl", "30",
            "--refresh-grace", "0",
            "--send-retry-after",
            "--clients-paging",
            "--non-public-status", "403",
            "--password", "s3cret",
        ]
    )  # fmt: skip
    assert (args.agencies, args.state_file, args.code_ttl, args.refresh_grace) == (
        2, "/tmp/sim.json", 30, 0,
    )  # fmt: skip
    assert args.send_retry_after and args.clients_paging
    assert (args.non_public_status, args.password) == (403, "s3cret")


def test_the_description_names_the_agency_and_seller_paths() -> None:
    text = command.DESCRIPTION
    for needle in ("/advertising-agencies/clients", "/sale/offers", "/me", "--agencies", "/_sim/"):
        assert needle in text


def test_an_unusable_state_file_is_a_one_line_error(tmp_path: Path) -> None:
    broken = tmp_path / "state.json"
    broken.write_text("{not json")
    args = _parser().parse_args(["simulator", "--state-file", str(broken)])  # fails before binding
    with pytest.raises(CommandError, match="delete it to start afresh"):
        command.run(args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_serves_in_the_foreground_until_interrupted() -> None:
    port = _free_port()
    command_line = [sys.executable, "-m", "allegro_ads", "simulator", "--port", str(port)]
    process = subprocess.Popen(
        [*command_line, "--users", "3", "--agencies", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored
        # SIGINT ignored: give the child the default, as a terminal's Ctrl-C would find it.
        preexec_fn=_default_sigint,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "allegro-ads-demo" in banner
        assert "agency, agency2" in banner
        users = requests.get(f"http://127.0.0.1:{port}/_sim/users", timeout=10).json()
        assert [u["login"] for u in users] == ["seller01", "seller02", "seller03"]
        assert [u["agency_login"] for u in users] == ["agency", "agency2", "agency"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            # Generous: CI runs this beside the load tests' 16 worker processes on 2 cores.
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a simulator serving after the test
            raise
    assert code == 0


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = _parser().parse_args(["simulator", "--port", str(port)])
        with pytest.raises(CommandError, match="choose another --port"):
            command.run(args)
