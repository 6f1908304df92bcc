"""An installed wheel has no simulator: the command line still works and says where to run
the commands that need it (the source checkout)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# The child process hides the simulator package as an installed wheel would lack it.
WITHOUT_SIMULATOR = (
    "import sys; sys.modules['simulator'] = None; "
    "from allegro_ads.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_SIMULATOR, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_lists_every_command_without_the_simulator() -> None:
    done = _cli("--help")
    assert done.returncode == 0, done.stderr
    assert "simulator" in done.stdout
    assert "tokens" in done.stdout


@pytest.mark.parametrize("command", ["simulator", "demo"])
def test_commands_needing_the_simulator_say_to_run_from_the_checkout(command: str) -> None:
    done = _cli(command)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"allegro-ads {command}: error: the Allegro simulator ships with the source checkout, "
        "not with the installed package; run this command from a clone of the repository "
        "(./scripts/demo sets it up)"
    ]
