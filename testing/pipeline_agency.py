"""Helpers of the pipeline tests: an agency on loopback (simulator, control store, warehouse,
Dagster instance), customers connected through the real consent service functions, runs of
``ad_stats_job`` launched the way the schedule and backfills launch them, and comparisons of
the warehouse with the simulator's truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from allegro_resource.windows import REPORTING_TZ, reporting_today
from control_store import customers as customer_store
from control_store.database import NotFound
from pipelines.definitions import build_definitions
from pipelines.partitions import range_tags
from services.control import open_control
from settings.config import Settings
from simulator.server import RunningSimulator
from testing.simulated_consent import consent_as_seller
from testing.stat_tables import table_rows
from warehouse.backends import open_warehouse
from warehouse.stats_loader import Warehouse

BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
"""``pytest.mark.parametrize("backend", BACKENDS)`` runs a test on both sets of stores."""

JOB = "ad_stats_job"
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
)
_SECTIONS = (("sponsoredOffers", "SPONSORED_OFFER"), ("graphicAds", "GRAPHIC_AD"))


@dataclass(frozen=True)
class Connected:
    """A customer of the agency, connected to one simulated seller."""

    customer_id: str
    name: str
    login: str
    ads_client_id: str


@dataclass
class Agency:
    """Everything a pipeline test drives; built by the ``agency`` fixture."""

    backend: str
    settings: Settings
    simulator: RunningSimulator
    instance: dg.DagsterInstance
    customers: list[Connected] = field(default_factory=list)

    # --- the customers -------------------------------------------------------

    def connect(self, login: str, name: str | None = None) -> Connected:
        """Create the customer (unless it exists) and connect it through the consent flow."""
        with open_control(self.settings) as control:
            try:
                customer = customer_store.find_customer(control.engine, name or login)
            except NotFound:
                customer = customer_store.create_customer(control.engine, name or login)
            consent(self.settings, customer.id, login)
            found = customer_store.get_customer(control.engine, customer.id)
        assert found is not None and found.ads_client_id, f"{login} did not connect"
        connected = Connected(found.id, found.name, login, found.ads_client_id)
        self.customers = [c for c in self.customers if c.customer_id != found.id] + [connected]
        return connected

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

    def execute(
        self,
        tags: Mapping[str, str],
        *,
        run_config: Mapping[str, Any] | None = None,
        only: Sequence[str] = (),
    ) -> dg.ExecuteInProcessResult:
        """Execute the job with the given run tags (e.g. a RunRequest's) on the instance."""
        config = dict(run_config or {})
        if only:
            config = {"ops": {ASSET: {"config": {"customers": list(only)}}}}
        job = self.definitions().resolve_job_def(JOB)
        return job.execute_in_process(
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
                    Decimal(m["effectiveCpc"]),
                    Decimal(m["rateOfReturn"]),
                    currency,
                )
    return keyed


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
    return datetime(day.year, day.month, day.day, hour, tzinfo=REPORTING_TZ)


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The metadata of the run's (last) materialization of the asset, as plain values."""
    materializations = result.asset_materializations_for_node(ASSET)
    assert materializations, "the run materialised nothing"
    return {k: v.value for k, v in materializations[-1].metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """The run's asset check evaluations by check name (read from the run's events)."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}
