"""Reproducible installs: both README commands install exactly what uv.lock pins, and a
dependency added to pyproject.toml without re-locking stops them (and so CI) with the command
that fixes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The dev extra pins uv, so the venv holds the very uv scripts/_env.sh bootstraps.
UV = Path(sys.executable).parent / "uv"
# Room for a resolution against the package index on a loaded two-core machine.
INSTALL_TIMEOUT_SECONDS = 240


def test_the_committed_lock_matches_pyproject() -> None:
    checked = subprocess.run(
        [str(UV), "lock", "--check", "--offline"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert checked.returncode == 0, f"uv.lock is stale; run `uv lock`:\n{checked.stderr}"


@pytest.mark.slow
def test_a_dependency_added_without_relocking_stops_the_install_and_says_to_run_uv_lock(
    tmp_path: Path,
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("uv.lock", "scripts/_env.sh", "README.md"):
        shutil.copy(REPO / name, checkout / name)
    pyproject = (REPO / "pyproject.toml").read_text()
    added = pyproject.replace('    "tzdata",\n', '    "tzdata",\n    "six>=1.16",\n', 1)
    assert added != pyproject, "pyproject.toml no longer lists tzdata; pick another anchor"
    (checkout / "pyproject.toml").write_text(added)
    # The pinned uv first on PATH, so the script uses it instead of bootstrapping one.
    path = f"{UV.parent}{os.pathsep}{os.environ['PATH']}"

    installed = subprocess.run(
        ["bash", "-c", "source scripts/_env.sh && ensure_venv"],
        cwd=checkout,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )

    assert installed.returncode != 0
    assert "needs to be updated" in installed.stderr, installed.stderr
    assert "uv lock" in installed.stderr
    assert not (checkout / ".venv" / ".installed-from").exists(), "a stale lock was recorded"
