"""The command line as one stage of a shell pipeline."""

from __future__ import annotations

import subprocess
import sys


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    # `allegro-ads keys generate | head -0`: the reader has gone before the command writes.
    command = subprocess.Popen(
        [sys.executable, "-m", "allegro_ads", "keys", "generate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert command.stdout is not None
    command.stdout.close()
    _, err = command.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()
    assert command.returncode == 141  # what a shell reports for a command ended by SIGPIPE
