"""``allegro-ads simulator``: validates its arguments in one line, serves until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

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
    process = subprocess.Popen(
        [sys.executable, "-m", "allegro_ads", "simulator", "--port", str(port), "--users", "3"],
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
        users = requests.get(f"http://127.0.0.1:{port}/_sim/users", timeout=10).json()
        assert [u["login"] for u in users] == ["seller01", "seller02", "seller03"]
    finally:
        process.send_signal(signal.SIGINT)
        # Generous: CI runs this beside the load tests' 16 worker processes on 2 cores.
        code = process.wait(timeout=60)
    assert code == 0


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = _parser().parse_args(["simulator", "--port", str(port)])
        with pytest.raises(CommandError, match="choose another --port"):
            command.run(args)
