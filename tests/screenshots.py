"""Where the browser tests keep their screenshots: ``test-artifacts/screenshots/`` (git-ignored),
one PNG per page, for a reviewer to look at after a run."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"


def save_screenshot(page: Page, name: str) -> Path:
    """The whole of ``page`` as ``<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
