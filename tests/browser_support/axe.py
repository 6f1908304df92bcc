"""axe-core in the browser tests: installed from this folder's lockfile (``npm ci``) on first
use, injected into a Playwright page, and run; what it finds is returned as plain data.

Development only: nothing under ``tests/`` ships, and the portal never serves this script.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

HERE = Path(__file__).resolve().parent
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"
LOCKFILE = HERE / "package-lock.json"
# The impacts that fail a page (axe's scale: minor, moderate, serious, critical).
FAILING_IMPACTS = ("serious", "critical")
# Every WCAG 2.x A/AA rule plus axe's best practices (headings, landmarks, table headers).
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


class AxeUnavailable(RuntimeError):
    """axe-core could not be installed from the lockfile."""


@dataclass(frozen=True)
class Violation:
    """One axe rule a page breaks: its id, impact, and the elements (CSS selectors) at fault."""

    rule: str
    impact: str
    help: str
    nodes: tuple[str, ...]

    def describe(self) -> str:
        shown = ", ".join(self.nodes[:5]) + (" …" if len(self.nodes) > 5 else "")
        return f"{self.rule} ({self.impact}): {self.help} — {len(self.nodes)} node(s): {shown}"


@dataclass(frozen=True)
class AxeScript:
    """The text of ``axe.min.js`` (kept out of reprs: a failing test shows its version only)."""

    version: str
    source: str = field(repr=False)


def axe_script() -> AxeScript:
    """``axe.min.js`` of the locked version, installed first (``npm ci``) if it is missing.

    Parallel test workers share the folder, so the install runs under a file lock.
    """
    with (HERE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed_matches_lock():
            _npm_ci()
    return AxeScript(_locked_version(), AXE_SCRIPT.read_text(encoding="utf-8"))


def _locked_version() -> str:
    return str(json.loads(LOCKFILE.read_text())["packages"]["node_modules/axe-core"]["version"])


def _installed_matches_lock() -> bool:
    installed = HERE / "node_modules" / "axe-core" / "package.json"
    if not (AXE_SCRIPT.exists() and installed.exists()):
        return False
    return bool(json.loads(installed.read_text())["version"] == _locked_version())


def _npm_ci() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AxeUnavailable(
            "npm is not on PATH; install Node.js (Debian: apt-get install npm) so the browser "
            "tests can fetch axe-core from the npm registry"
        )
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not AXE_SCRIPT.exists():
        raise AxeUnavailable(f"npm ci in {HERE} failed: {done.stderr.strip()[-2000:]}")


def axe_violations(page: Page, script: AxeScript) -> list[Violation]:
    """Run axe-core on the page as it is now; every violation, whatever its impact.

    The script is evaluated through the browser's debugging protocol, which the page's
    Content-Security-Policy (script-src 'self') does not apply to; a ``<script>`` tag would be
    refused, as it should be.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(script.source)
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return result.violations.map(v => ({
                rule: v.id, impact: v.impact || 'unknown', help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')),
            }));
        }""",
        RULE_TAGS,
    )
    return [Violation(v["rule"], v["impact"], v["help"], tuple(v["nodes"])) for v in found]


def failing(violations: list[Violation]) -> list[Violation]:
    """The violations that fail a page: serious and critical ones."""
    return [v for v in violations if v.impact in FAILING_IMPACTS]
