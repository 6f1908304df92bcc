"""The demo: the whole product end to end against the bundled Allegro simulator.

Simulator → the agency account connected by Allegro's device flow (the code confirmed on the
simulator's page) → its clients discovered → five adopted as customers → each customer's sales
account authorised through its signed link over HTTP → one Dagster run for the last 90 days →
warehouse → a short report. A second run reuses the data folder: the agency connection, the
customers, the warehouse, Dagster's run history and the simulator's state file (so the tokens
issued before still work after a restart).
"""

from __future__ import annotations

import sys
import time
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

from allegro_ads.dagster_home import ensure_dagster_home
from allegro_resource.errors import AllegroError
from allegro_resource.windows import reporting_today
from authorize_app.app import create_app
from authorize_app.server import RunningServer, start_in_thread
from control_store import agency_accounts, agency_clients, customers
from control_store.agency_accounts import AgencyAccount
from control_store.customers import Customer
from control_store.database import NotFound, upgrade
from services.agency_connect import (
    connection_client,
    finish_device_connect,
    record_clients_now,
    start_device_connect,
)
from services.clients import client_config, oauth_client, token_manager
from services.control import Control, open_control
from services.links import issue_link
from settings.config import Settings
from simulator.browser import DEFAULT_PASSWORD, answer_consent_page
from simulator.server import RunningSimulator, start_simulator
from simulator.state import SimulatorConfig
from warehouse.backends import open_warehouse
from warehouse.offer_queries import unavailable_offer_spend
from warehouse.stats_queries import customer_summary

DEMO_CUSTOMERS = 5
DEMO_DAYS = 90
STATE_FILE = "simulator-state.json"


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
    state_file = settings.data_dir / STATE_FILE

    say(f"1/6 starting the Allegro simulator on {settings.api_url} (seed {seed})")
    simulator = start_simulator(
        SimulatorConfig(
            seed=seed, redirect_uris=(settings.redirect_uri,), state_file=str(state_file)
        ),
        port=port_of(settings.api_url),
    )
    upgrade(settings.resolved_control_url)
    with open_control(settings) as control:
        web = start_in_thread(create_app(settings), port=port_of(settings.public_url))
        try:
            agency = connect_agency(control, simulator)
            chosen = adopt_customers(control, agency)
            authorise_sales_accounts(control, web, simulator, chosen)
            end = reporting_today(tz=settings.reporting_timezone) - timedelta(days=1)
            start = end - timedelta(days=days - 1)
            say(f"5/6 running the Dagster pipeline for {start} .. {end} (one run)")
            run_pipeline(start, end)
        finally:
            web.stop()
            simulator.stop()
        say("6/6 report")
        print_report(settings, chosen, start, end)
    say(f"\ndone in {time.monotonic() - started:.0f} s")
    print_next_steps(settings, dagster_home, state_file, seed)
    return 0


def connect_agency(control: Control, simulator: RunningSimulator) -> AgencyAccount:
    """The agency account, connected once by the device flow; a second run reuses it."""
    name = control.settings.agency_name
    existing = _agency_named(control, name)
    if existing is not None and works(control, existing.id):
        say(f"2/6 agency account {name!r}: already connected as {existing.allegro_login}")
        return existing
    login = str(simulator.agency()["login"])
    say(f"2/6 connecting the agency account {name!r} by Allegro's device flow")
    with (
        closing(oauth_client(control.settings)) as oauth,
        connection_client(control, oauth) as api,
    ):
        pending = start_device_connect(control, oauth, name)
        say(f"    open {pending.verification_uri} and enter the code {pending.user_code}")
        confirm_device_code(pending.verification_uri, pending.user_code, login)
        say(f"    confirmed on the simulator's page as {login!r}")
        account = finish_device_connect(control, oauth, api, pending)
        changes = record_clients_now(control, api, account.id)
    say(f"    connected; {len(changes.new) + len(changes.returned)} new clients listed")
    return account


def _agency_named(control: Control, name: str) -> AgencyAccount | None:
    try:
        return agency_accounts.find_agency_account(control.engine, name)
    except NotFound:
        return None


def confirm_device_code(verification_uri: str, user_code: str, login: str) -> None:
    """Be the agency's admin in a browser: open Allegro's verification page, type the code,
    sign in and approve."""
    with requests.Session() as browser:
        browser.get(verification_uri, timeout=30).raise_for_status()
        form = {"user_code": user_code, "login": login, "password": DEFAULT_PASSWORD}
        done = browser.post(verification_uri, data=form | {"decision": "approve"}, timeout=30)
        if done.status_code != 200 or "Device connected" not in done.text:
            raise RuntimeError(f"the simulator did not confirm code {user_code} for {login}")


def adopt_customers(control: Control, agency: AgencyAccount) -> list[Customer]:
    """The first five of the agency's clients as customers (adopted once, then reused)."""
    listed = [c for c in agency_clients.clients_of(control.engine, agency.id) if not c.removed]
    chosen = sorted(listed, key=lambda client: client.name)[:DEMO_CUSTOMERS]
    say(f"3/6 adopting {len(chosen)} of the agency's {len(listed)} clients as customers")
    adopted: list[Customer] = []
    for client in chosen:
        if client.customer_id is not None:
            found = customers.get_customer(control.engine, client.customer_id)
            assert found is not None  # the link's foreign key guarantees it
            adopted.append(found)
            continue
        adopted.append(agency_clients.adopt_client(control.engine, agency.id, client.client_id))
        say(f"    {client.name}: adopted")
    return adopted


def authorise_sales_accounts(
    control: Control, web: RunningServer, simulator: RunningSimulator, chosen: list[Customer]
) -> None:
    """Each customer authorises its own sales account through its signed link over HTTP."""
    say(f"4/6 {len(chosen)} customers authorise their sales accounts through their links")
    login_of = {str(u["ads_client_id"]): str(u["login"]) for u in simulator.users()}
    for customer in chosen:
        if works(control, customer.id):
            say(f"    {customer.name}: already authorised")
            continue
        login = login_of[str(customer.ads_client_id)]
        link = issue_link(control, customer.id, created_by="demo")
        consent_through_link(web.url + urlsplit(link.url).path, login)
        say(f"    {customer.name}: authorised as {login} via {link.url[:60]}…")


def works(control: Control, account_id: str) -> bool:
    """Whether a stored connection still works (``/me`` answers with it)."""
    if control.tokens.info(account_id) is None:
        return False
    quick = client_config(control.settings).capped(max_attempts=2)
    try:
        with (
            closing(oauth_client(control.settings)) as oauth,
            quick.ads_client(token_manager(control, oauth)) as api,
        ):
            api.me(account_id)
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
    """One Dagster run of the statistics job over [start, end], recorded in DAGSTER_HOME."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.partitions import range_tags

    defs = build_definitions()
    job = defs.resolve_job_def("daily_job")
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


def print_report(settings: Settings, chosen: list[Customer], start: date, end: date) -> None:
    ids = [c.id for c in chosen]
    names = {c.id: c.name for c in chosen}
    with open_warehouse(settings.resolved_warehouse_url) as wh:
        summary = customer_summary(wh, ids, start, end)
        unavailable = unavailable_offer_spend(wh, ids, start, end).to_pylist()
    lost = {str(row["customer_id"]): row["unavailable_spend"] for row in unavailable}
    say(
        f"\n{'customer':<34} {'campaigns':>9} {'spend':>12} {'clicks':>9} {'ROAS':>6}  "
        f"{'latest day':<10}  {'spend on unavailable offers':>27}"
    )
    for row in summary.to_dict("records"):
        customer_id = str(row["customer_id"])
        roas = "-" if row["roas"] is None else f"{float(row['roas']):.2f}"
        wasted = lost.get(customer_id)
        say(
            f"{names.get(customer_id, customer_id):<34} {row['campaigns']:>9} "
            f"{row['cost']:>12} {row['clicks']:>9} {roas:>6}  {row['latest_day']!s:<10}  "
            f"{'-' if wasted is None else wasted!s:>27}"
        )


def print_next_steps(settings: Settings, dagster_home: Path, state_file: Path, seed: int) -> None:
    say(
        "\nNext:\n"
        f"  Allegro:    .venv/bin/allegro-ads simulator --seed {seed} --state-file {state_file}\n"
        "              (the same accounts and tokens as the demo's, for ui, serve and live "
        "pulls)\n"
        f"  Dagster UI: .venv/bin/allegro-ads ui   (instance in {dagster_home})\n"
        "  Portal:     .venv/bin/allegro-ads users add admin@example.com --role admin, then\n"
        "              .venv/bin/allegro-ads serve\n"
        f"  Warehouse:  {settings.resolved_warehouse_url} - views customer_daily_stats,\n"
        "              campaign_daily_stats, graphic_ad_daily_stats; offers (docs/warehouse.md)\n"
        "  Export:     .venv/bin/allegro-ads export --from YYYY-MM-DD --to YYYY-MM-DD "
        "--format csv --out campaigns.csv"
    )


def main() -> int:
    from settings.config import load_settings

    return run_demo(load_settings())


if __name__ == "__main__":
    sys.exit(main())
