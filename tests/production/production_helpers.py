"""Helpers of the production-profile test: long-running services in process groups of their
own (killed as a group, logs kept for assertion messages), the documented set-up commands, and
the deployment the ``deployment`` fixture builds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from testing.pipeline_agency import Agency as Agency  # re-exported for conftest

REPO = Path(__file__).resolve().parents[2]

VENV_BIN = Path(sys.executable).parent
SEED = 42
CUSTOMERS = 3
# The schedule's cron is a setting: every minute makes the daemon's first tick come within 60 s.
EVERY_MINUTE = "* * * * *"
CLIENT_ID = "agency-production-app"
CLIENT_SECRET = "a-production-secret-the-demo-never-uses"
# Generous: two cores shared with other people's test runs; each CLI loads the code location.
COMMAND_TIMEOUT_SECONDS = 180


@dataclass
class Service:
    """A long-running subprocess in a process group of its own, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 20_000) -> str:
        """The end of the service's log, for assertion messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} log ({self.log}) ---\n{text[-chars:]}"

    def stop(self) -> None:
        """SIGTERM the whole group (the daemon's code server and run workers too), then KILL."""
        for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
            # The leader has gone; children may linger in the group a moment longer.
            if not _group_alive(self.process.pid):
                break
            time.sleep(1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Services:
    """Starts services for one test and stops every one of them afterwards."""

    log_dir: Path
    started: list[Service] = field(default_factory=list)

    def start(self, name: str, args: Sequence[str]) -> Service:
        """Start ``args`` (cwd = repo root, this test's environment) in a new session."""
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(args),
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches every child
            )
        service = Service(name, process, log)
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        for service in reversed(self.started):
            service.stop()


@dataclass
class Deployment:
    """The production profile on this machine, ready for its long-running processes."""

    agency: Agency
    instance: dg.DagsterInstance
    dagster_home: Path
    portal_port: int

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}"


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def commands_running(*commands: Sequence[str]) -> Iterator[None]:
    """Run the commands at once (cwd = repo root, this environment) while the body runs; on
    leaving, wait for them and fail on any non-zero exit (or kill them if the body failed)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = [
        (
            command,
            subprocess.Popen(
                list(command),
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for command in commands
    ]
    try:
        yield
    except BaseException:
        for _, process in processes:
            process.kill()
            process.communicate()
        raise
    failures = []
    for command, process in processes:
        try:
            output, _ = process.communicate(timeout=COMMAND_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if process.returncode != 0:
            failures.append(f"$ {' '.join(command)}  (exit {process.returncode})\n{output}")
    assert not failures, "\n".join(failures)


@contextmanager
def log_on_failure(*services: Service) -> Iterator[None]:
    """Any assertion failing inside carries the services' logs in its message."""
    try:
        yield
    except AssertionError as exc:
        logs = "\n".join(service.tail() for service in services)
        raise AssertionError(f"{exc}\n{logs}") from exc
