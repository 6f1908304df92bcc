"""Helpers of the pipeline tests: an agency on loopback (simulator, control store, warehouse,
Dagster instance) whose agency accounts are connected by the device flow, whose clients are
listed by the discovery service and adopted as customers (each optionally consenting its sales
account through the real link flow), runs of ``ad_stats_job`` and ``daily_job`` launched the
way the schedule and backfills launch them, and comparisons of the warehouse with the
simulator's truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from allegro_resource.windows import reporting_today, reporting_zone
from control_store import agency_accounts, agency_clients
from control_store import customers as customer_store
from pipelines.definitions import DAILY_JOB, STATS_JOB, build_definitions
from pipelines.partitions import range_tags
from services import clients
from services.agency_connect import bind_agency_account, connection_client
from services.control import open_control
from services.discovery import AgencyListing, discover_clients
from settings.config import Settings
from simulator.server import RunningSimulator
from testing.bench_simulator import device_consent
from testing.simulated_consent import consent_as_seller
from testing.stat_tables import table_rows
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse

BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
"""``pytest.mark.parametrize("backend", BACKENDS)`` runs a test on both sets of stores."""

JOB = STATS_JOB
ASSET = "ad_daily_stats"
ASSET_KEY = dg.AssetKey(ASSET)

# (ad_type, ad_id, day): the key of one ad-day within a customer.
RowKey = tuple[str, str, date]
# Hierarchy ids, then every metric; money and ratios as Decimal, compared exactly.
RowValues = tuple[Any, ...]
_COMPARED = (
    "ads_client_id",
    "campaign_id",
    "ad_group_id",
    "offer_id",
    "views",
    "clicks",
    "interest",
    "cost",
    "attributed_count",
    "attributed_value",
    "api_ctr",
    "api_cpc",
    "api_roas",
    "currency",
    "unique_reach",
    "effective_cpm",
    "attributed_to_core_value",
)
# An offer as stored: name, price, currency, stock available, stock sold, status.
OfferValues = tuple[Any, ...]
_SECTIONS = (("sponsoredOffers", "SPONSORED_OFFER"), ("graphicAds", "GRAPHIC_AD"))


@dataclass(frozen=True)
class Connected:
    """A customer of the agency: one simulated seller's agency client, adopted."""

    customer_id: str
    name: str
    login: str
    ads_client_id: str
    agency_account_id: str
    agency_login: str


@dataclass
class Agency:
    """Everything a pipeline test drives; built by the ``agency`` fixture."""

    backend: str
    settings: Settings
    simulator: RunningSimulator
    instance: dg.DagsterInstance
    customers: list[Connected] = field(default_factory=list)
    agency_accounts: dict[str, str] = field(default_factory=dict)  # Allegro login -> ag_ id

    # --- the agency accounts ---------------------------------------------------

    def connect_agency(self, login: str = "agency", name: str | None = None) -> str:
        """Connect the simulator's agency account ``login`` by the device flow and store it as
        agency account ``name`` (the login by default). Returns its id."""
        account_id = connect_agency_account(self.settings, self.simulator.base_url, login, name)
        self.agency_accounts[login] = account_id
        return account_id

    def list_clients(self) -> list[AgencyListing]:
        """Every connected agency account's clients, recorded by the discovery service."""
        return list_agency_clients(self.settings)

    # --- the customers -------------------------------------------------------

    def adopt(self, login: str, name: str | None = None, *, sales: bool = True) -> Connected:
        """Make the seller ``login``'s agency client a customer (listing the clients first if
        it is not listed yet) and, with ``sales``, connect its sales account through the link."""
        seller = self.seller(login)
        account_id = self.agency_accounts[seller["agency_login"]]
        with open_control(self.settings) as control:
            listed = {c.client_id: c for c in agency_clients.clients_of(control.engine, account_id)}
            if seller["ads_client_id"] not in listed:
                self.list_clients()
                listed = {
                    c.client_id: c for c in agency_clients.clients_of(control.engine, account_id)
                }
            client = listed[seller["ads_client_id"]]
            if client.customer_id is not None:
                customer = customer_store.find_customer(control.engine, client.customer_id)
            else:
                customer = agency_clients.adopt_client(
                    control.engine, account_id, client.client_id, name=name or login
                )
            if sales:
                consent_as_seller(control, customer.id, login)
        connected = Connected(
            customer.id,
            customer.name,
            login,
            seller["ads_client_id"],
            account_id,
            seller["agency_login"],
        )
        self.customers = [c for c in self.customers if c.customer_id != customer.id] + [connected]
        return connected

    def connect(self, login: str, name: str | None = None) -> Connected:
        """Adopt the seller's client (unless adopted) and connect its sales account."""
        return self.adopt(login, name, sales=True)

    def consent_sales(self, customer: Connected) -> None:
        """The customer authorises its sales account again, through a new link."""
        with open_control(self.settings) as control:
            consent_as_seller(control, customer.customer_id, customer.login)

    def seller(self, login: str) -> dict[str, Any]:
        """The simulator's seller ``login`` (with its ``ads_client_id`` and ``agency_login``)."""
        (found,) = [u for u in self.simulator.users() if u["login"] == login]
        return found

    # --- runs ------------------------------------------------------------------

    def definitions(self) -> dg.Definitions:
        """The product's definitions as ``workspace.yaml`` loads them, from this environment.

        Built (and cached) against this agency's instance: resolving them later reads the
        ambient "current instance" of Dagster's definitions state otherwise, which another test
        in the same process can leave pointing at an instance already collected
        ("Attempted to resolve undefined DagsterInstance weakref", seen once under xdist).
        """
        definitions = build_definitions()
        with set_defs_state_storage(self.instance.defs_state_storage):
            definitions.get_repository_def()
        return definitions

    def run(
        self,
        start: date,
        end: date,
        *,
        only: Sequence[str] = (),
    ) -> dg.ExecuteInProcessResult:
        """One run of ``ad_stats_job`` over [start, end] (range tags: a single-run backfill),
        limited to the customers in ``only`` when given (the config a repair run uses)."""
        return self.execute(range_tags(start, end), only=only)

    def run_daily(self, start: date, end: date) -> dg.ExecuteInProcessResult:
        """One run of ``daily_job`` (agency clients, statistics of [start, end], offers)."""
        return self.execute(range_tags(start, end), job=DAILY_JOB)

    def execute(
        self,
        tags: Mapping[str, str],
        *,
        run_config: Mapping[str, Any] | None = None,
        only: Sequence[str] = (),
        job: str = JOB,
    ) -> dg.ExecuteInProcessResult:
        """Execute ``job`` with the given run tags (e.g. a RunRequest's) on the instance."""
        config = dict(run_config or {})
        if only:
            config = {"ops": {ASSET: {"config": {"customers": list(only)}}}}
        job_def = self.definitions().resolve_job_def(job)
        return job_def.execute_in_process(
            instance=self.instance,
            tags=dict(tags),
            run_config=config,
        )

    # --- the data ---------------------------------------------------------------

    @contextmanager
    def warehouse(self) -> Iterator[Warehouse]:
        with open_warehouse(self.settings.resolved_warehouse_url) as wh:
            yield wh

    def stored(self, customer: Connected, start: date, end: date) -> dict[RowKey, RowValues]:
        """The warehouse's rows of the customer in [start, end], keyed like ``truth``."""
        return self._stored(customer, start, end, _COMPARED)

    def stored_with_lineage(
        self, customer: Connected, start: date, end: date
    ) -> dict[RowKey, RowValues]:
        """Like ``stored``, plus each row's ``run_id`` and ``fetched_at`` (what a load stamps)."""
        return self._stored(customer, start, end, (*_COMPARED, "run_id", "fetched_at"))

    def _stored(
        self, customer: Connected, start: date, end: date, columns: Sequence[str]
    ) -> dict[RowKey, RowValues]:
        with self.warehouse() as wh:
            table = table_rows(wh, customer.customer_id, start, end)
        return keyed_columns(table, columns)

    def row_count(self) -> int:
        with self.warehouse() as wh:
            return int(wh.read("SELECT COUNT(*) AS n FROM ad_daily_stats").column("n")[0].as_py())

    def truth(self, customer: Connected, start: date, end: date) -> dict[RowKey, RowValues]:
        """What the simulator serves now for the customer's seller over [start, end]."""
        document = self.simulator.truth(customer.ads_client_id, start, end)
        return truth_rows(document, customer.ads_client_id, self.settings.currency)

    def stored_offers(self, customer: Connected) -> dict[str, OfferValues]:
        """The warehouse's offers of the customer: offer id -> (name, price, currency,
        available, sold, status)."""
        with self.warehouse() as wh:
            table = wh.read(
                "SELECT offer_id, name, price, currency, stock_available, stock_sold, status "
                "FROM offers WHERE customer_id = $customer_id",
                {"customer_id": customer.customer_id},
            )
        rows = table.to_pylist()
        return {r["offer_id"]: tuple(list(r.values())[1:]) for r in rows}

    def true_offers(self, customer: Connected) -> dict[str, OfferValues]:
        """The seller's offers as the simulator holds them now, shaped like ``stored_offers``."""
        return {
            o["id"]: (
                o["name"],
                Decimal(o["sellingMode"]["price"]["amount"]),
                o["sellingMode"]["price"]["currency"],
                o["stock"]["available"],
                o["stock"]["sold"],
                o["publication"]["status"],
            )
            for o in self.simulator.offers(customer.login)
        }


def connect_agency_account(
    settings: Settings, base_url: str, login: str = "agency", name: str | None = None
) -> str:
    """Connect the simulator's agency account ``login`` by the device flow (the user's
    confirmation given on the simulator, as ``allegro-ads agency connect`` waits for it), bind
    it with ``/me`` and store it as agency account ``name`` (the login by default; created
    unless it exists). Returns its id."""
    with open_control(settings) as control:
        existing = {a.name: a for a in agency_accounts.list_agency_accounts(control.engine)}
        account = existing.get(name or login) or agency_accounts.create_agency_account(
            control.engine, name or login
        )
        with (
            closing(clients.oauth_client(settings)) as oauth,
            connection_client(control, oauth) as api,
        ):
            bind_agency_account(control, api, account.id, device_consent(oauth, base_url, login))
    return account.id


def list_agency_clients(settings: Settings) -> list[AgencyListing]:
    """Every connected agency account's clients, recorded by the discovery service."""
    with (
        open_control(settings) as control,
        clients.ads_client(settings, clients.token_manager(control)) as api,
    ):
        return discover_clients(control, api, datetime.now(reporting_zone()))


def keyed_columns(table: pa.Table, columns: Sequence[str]) -> dict[RowKey, RowValues]:
    """``table``'s rows as {(ad_type, ad_id, day): values of ``columns``}; a repeated key fails."""
    key = zip(
        *(table.column(name).to_pylist() for name in ("ad_type", "ad_id", "day")), strict=True
    )
    values = zip(*(table.column(name).to_pylist() for name in columns), strict=True)
    keyed = dict(zip(key, values, strict=True))
    assert len(keyed) == table.num_rows, "the warehouse holds a key twice"
    return keyed


def truth_rows(
    document: Mapping[str, Any], ads_client_id: str, currency: str
) -> dict[RowKey, RowValues]:
    """The simulator's truth JSON flattened to warehouse rows (decimal strings → Decimal)."""
    keyed: dict[RowKey, RowValues] = {}
    for section, ad_type in _SECTIONS:
        for ad in document.get(section, []):
            for day in ad["dayData"]:
                m = day["data"]
                keyed[(ad_type, ad["ad"]["id"], date.fromisoformat(day["day"]))] = (
                    ads_client_id,
                    ad["campaign"]["id"],
                    ad["adGroup"]["id"],
                    ad["ad"].get("offerId"),
                    m["views"],
                    m["clicks"],
                    m["interest"],
                    Decimal(m["totalCost"]),
                    m["totalAttributionCount"],
                    Decimal(m["totalAttributionValue"]),
                    Decimal(m["ctr"]),
                    _decimal(m.get("effectiveCpc")),
                    Decimal(m["rateOfReturn"]),
                    currency,
                    m.get("uniqueReach"),
                    _decimal(m.get("effectiveCpm")),
                    _decimal(m.get("attributedToCoreValue")),
                )
    return keyed


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def consent(settings: Settings, customer_id: str, login: str) -> None:
    """The whole consent through the service functions the web app calls."""
    with open_control(settings) as control:
        consent_as_seller(control, customer_id, login)


def yesterday() -> date:
    return reporting_today() - timedelta(days=1)


def days_back(count: int) -> tuple[date, date]:
    """The last ``count`` complete days: [yesterday - count + 1, yesterday]."""
    end = yesterday()
    return end - timedelta(days=count - 1), end


def warsaw_morning(day: date, hour: int = 6) -> datetime:
    """``day`` at ``hour``:00 in Allegro's reporting time zone (when the schedule fires)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=reporting_zone())


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The metadata of the run's (last) materialization of the asset, as plain values."""
    materializations = result.asset_materializations_for_node(ASSET)
    assert materializations, "the run materialised nothing"
    return {k: v.value for k, v in materializations[-1].metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """The run's asset check evaluations by check name (read from the run's events)."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}
