"""Fixtures for the customer-onboarding web flow: the simulator as Allegro, a SQLite control
store, and the web app served by waitress, all on loopback; Chromium for the browser test.

Helpers (the consent driven over HTTP, the CLI as a subprocess, store inspection) live in
``onboarding_helpers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from authorize_app.app import create_app
from authorize_app.server import start_in_thread
from control_store.database import upgrade
from services.control import open_control
from settings.config import load_settings
from simulator.server import start_simulator
from simulator.state import SimulatorConfig
from tests.authorize_app.onboarding_helpers import CALLBACK_PATH, Onboarding, free_port

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser here
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def onboarding(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Onboarding]:
    """Simulator, upgraded control store and web app, configured through ALLEGRO_ADS_* only
    (so a CLI subprocess started by the test sees the same configuration)."""
    port = free_port()
    web_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(SimulatorConfig(redirect_uris=(f"{web_url}{CALLBACK_PATH}",)))
    control_url = f"sqlite:///{isolated_settings / 'control.db'}"
    upgrade(control_url)
    environment = {
        "ALLEGRO_ADS_AUTH_URL": simulator.base_url,
        "ALLEGRO_ADS_API_URL": simulator.base_url,
        "ALLEGRO_ADS_REDIRECT_URI": f"{web_url}{CALLBACK_PATH}",
        "ALLEGRO_ADS_PUBLIC_URL": web_url,
        "ALLEGRO_ADS_CONTROL_URL": control_url,
        "ALLEGRO_ADS_AGENCY_NAME": "Agencja Testowa",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    web = start_in_thread(create_app(settings), port=port)
    control = open_control(settings)
    try:
        yield Onboarding(web_url, simulator, control)
    finally:
        control.close()
        web.stop()
        simulator.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """The customer's browser, as far as cookies and redirects go."""
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per module (launching is the slow part)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies) and one tab."""
    context = chromium.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
