"""The demo: the whole product end to end against the bundled Allegro simulator.

Simulator → five customers → real consent over HTTP (link, Allegro page, callback) → one
Dagster run for the last 90 days → warehouse → a short report. A second run reuses the data
folder: existing customers, the warehouse and Dagster's run history.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

from allegro_ads.dagster_home import ensure_dagster_home
from allegro_resource.errors import AllegroError
from allegro_resource.windows import reporting_today
from authorize_app.app import create_app
from authorize_app.server import RunningServer, start_in_thread
from control_store import customers
from control_store.database import NotFound, upgrade
from services.clients import client_config, token_manager
from services.control import Control, open_control
from services.links import issue_link
from settings.config import Settings
from simulator.browser import answer_consent_page
from simulator.server import RunningSimulator, start_simulator
from simulator.state import SimulatorConfig
from warehouse.backends import open_warehouse
from warehouse.stats_queries import customer_summary

DEMO_CUSTOMERS = 5
DEMO_DAYS = 90


@dataclass(frozen=True)
class DemoSeller:
    login: str
    name: str


def say(message: str) -> None:
    print(message, flush=True)


def port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def run_demo(settings: Settings, *, days: int = DEMO_DAYS, seed: int = 42) -> int:
    """Run the demo; returns the process exit code."""
    started = time.monotonic()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    dagster_home = ensure_dagster_home(settings.data_dir)

    say(f"1/5 starting the Allegro simulator on {settings.api_url} (seed {seed})")
    simulator = start_simulator(
        SimulatorConfig(seed=seed, redirect_uris=(settings.redirect_uri,)),
        port=port_of(settings.api_url),
    )
    upgrade(settings.resolved_control_url)
    with open_control(settings) as control:
        say(f"2/5 serving the consent app on {settings.public_url}")
        web = start_in_thread(create_app(settings), port=port_of(settings.public_url))
        try:
            sellers = demo_sellers(simulator)
            connect_customers(control, web, sellers)
            end = reporting_today() - timedelta(days=1)
            start = end - timedelta(days=days - 1)
            say(f"4/5 running the Dagster pipeline for {start} .. {end} (one run)")
            run_pipeline(start, end)
        finally:
            web.stop()
            simulator.stop()
        say("5/5 report")
        print_report(settings, control, start, end)
    say(f"\ndone in {time.monotonic() - started:.0f} s")
    print_next_steps(settings, dagster_home)
    return 0


def demo_sellers(simulator: RunningSimulator) -> list[DemoSeller]:
    users = simulator.users()[:DEMO_CUSTOMERS]
    return [DemoSeller(u["login"], u["name"]) for u in users]


def connect_customers(control: Control, web: RunningServer, sellers: list[DemoSeller]) -> None:
    """Create the demo customers and authorise each through the real consent flow."""
    say(f"3/5 connecting {len(sellers)} customers through their authorisation links")
    for seller in sellers:
        customer = ensure_customer(control, seller.name)
        if works(control, customer.id):
            say(f"    {seller.name}: already connected")
            continue
        # A restarted simulator has forgotten earlier consents: that is a real re-authorisation.
        again = control.tokens.info(customer.id) is not None
        link = issue_link(control, customer.id, created_by="demo")
        local_url = web.url + urlsplit(link.url).path
        consent_through_link(local_url, seller.login)
        verb = "re-authorised (the restarted simulator forgot it)" if again else "connected"
        say(f"    {seller.name}: {verb} as {seller.login} via {link.url[:60]}…")


def ensure_customer(control: Control, name: str) -> customers.Customer:
    try:
        return customers.find_customer(control.engine, name)
    except NotFound:
        return customers.create_customer(control.engine, name)


def works(control: Control, customer_id: str) -> bool:
    """Whether the stored connection still works (a restarted simulator forgets consents)."""
    quick = client_config(control.settings).capped(max_attempts=2)
    try:
        with quick.ads_client(token_manager(control)) as api:
            api.me(customer_id)
    except AllegroError:
        return False
    return True


def consent_through_link(link_url: str, login: str) -> None:
    """Be the customer: open the link, continue to Allegro, approve, land on the success page."""
    with requests.Session() as browser:
        page = browser.get(link_url, timeout=30)
        page.raise_for_status()
        allegro_page = browser.post(link_url, timeout=30)  # 303 to Allegro's consent page
        allegro_page.raise_for_status()
        done = answer_consent_page(browser, allegro_page, login, "approve")
        if done.status_code != 200 or "connected" not in done.text:
            raise RuntimeError(f"consent for {login} ended with HTTP {done.status_code}")


def run_pipeline(start: date, end: date) -> None:
    """One Dagster run of ``ad_daily_stats`` over [start, end], recorded in DAGSTER_HOME."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.partitions import range_tags

    defs = build_definitions()
    job = defs.resolve_job_def("ad_stats_job")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=range_tags(start, end),
            # The run's own progress lines are INFO; Dagster's per-event DEBUG lines are noise here.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    materialization = result.asset_materializations_for_node("ad_daily_stats")
    if not result.success or not materialization:
        raise RuntimeError("the pipeline run failed; open the Dagster UI to see why")
    meta = materialization[-1].metadata
    say(
        f"    run {result.run_id[:8]}: {meta['rows'].value} rows, "
        f"{meta['api_calls'].value} API calls, {meta['customers_loaded'].value} customers loaded"
    )


def print_report(settings: Settings, control: Control, start: date, end: date) -> None:
    ids = [c.id for c in customers.list_customers(control.engine) if c.active]
    with open_warehouse(settings.resolved_warehouse_url) as wh:
        summary = customer_summary(wh, ids, start, end)
    names = {c.id: c.name for c in customers.list_customers(control.engine)}
    say(f"\n{'customer':<34} {'campaigns':>9} {'spend':>12} {'clicks':>9} {'ROAS':>6}  latest day")
    for row in summary.to_dict("records"):
        roas = "-" if row["roas"] is None else f"{float(row['roas']):.2f}"
        name = names.get(str(row["customer_id"]), str(row["customer_id"]))
        say(
            f"{name:<34} {row['campaigns']:>9} {row['cost']:>12} {row['clicks']:>9} "
            f"{roas:>6}  {row['latest_day']}"
        )


def print_next_steps(settings: Settings, dagster_home: Path) -> None:
    say(
        "\nNext:\n"
        f"  Dagster UI: .venv/bin/allegro-ads ui   (instance in {dagster_home})\n"
        f"  Warehouse:  {settings.resolved_warehouse_url} - views customer_daily_stats and\n"
        "              campaign_daily_stats, facts in ad_daily_stats (docs/warehouse.md)\n"
        "  Export:     .venv/bin/allegro-ads export --from YYYY-MM-DD --to YYYY-MM-DD "
        "--format csv --out campaigns.csv"
    )


def main() -> int:
    from settings.config import load_settings

    return run_demo(load_settings())


if __name__ == "__main__":
    sys.exit(main())
