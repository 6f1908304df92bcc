"""The ``offers`` asset: the offers behind each consented customer's sponsored ads, refreshed
daily after the statistics (which say which offers the ads point to)."""

# No `from __future__ import annotations`: Dagster reads the parameter annotations at run time.
import dagster as dg

from allegro_resource.resource import AllegroResource
from pipelines.assets import ASSET_NAME as STATS_ASSET
from pipelines.catalog import table_definition_metadata, table_materialization_metadata
from pipelines.resources import ControlStoreResource, WarehouseResource, allegro_client
from services.offers_sync import OffersReport, sync_offers
from warehouse.offers_schema import OFFERS_TABLE

OFFERS = "offers"
ALL_OFFERS_LOADED = "every_consented_customer_offers_loaded"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def offers_metadata(report: OffersReport) -> dict[str, dg.MetadataValue]:  # type: ignore[type-arg]
    lines = [
        "| customer | id | offers asked | offers stored | error | fix |",
        "|---|---|---:|---:|---|---|",
    ]
    for o in report.outcomes:
        lines.append(
            f"| {_cell(o.name)} | {o.customer_id} | {o.asked} | {o.stored} "
            f"| {_cell(o.error)} | {_cell(o.fix)} |"
        )
    return {
        "offers": dg.MetadataValue.int(report.offers),
        "customers_loaded": dg.MetadataValue.int(len(report.loaded)),
        "customers_failed": dg.MetadataValue.int(len(report.failed)),
        "failed_customers": dg.MetadataValue.text(
            ", ".join(o.customer_id for o in report.failed) or "none"
        ),
        "per_customer": dg.MetadataValue.md("\n".join(lines)),
    }


@dg.asset(
    name=OFFERS,
    deps=[STATS_ASSET],
    group_name="allegro_ads",
    kinds={"python", "sql"},
    owners=["team:data-engineering"],
    metadata=table_definition_metadata(OFFERS_TABLE),
    check_specs=[
        dg.AssetCheckSpec(
            ALL_OFFERS_LOADED,
            asset=OFFERS,
            description="Every customer with a sales-account connection had its offers read; "
            "a broken one stops only its offer names, prices and stock.",
        )
    ],
)
def offers(
    context: dg.AssetExecutionContext,
    allegro: AllegroResource,
    warehouse: WarehouseResource,
    control: ControlStoreResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The offers each customer's sponsored ads point to (name, price, currency, stock,
    publication status; warehouse table `offers`), read with the customer's own sales account
    (`/sale/offers`). Customers that never consented are not asked; one whose consent was
    withdrawn keeps its last offers and is named with the fix; statistics are unaffected.
    """
    with (
        control.open() as ctl,
        warehouse.open() as wh,
        allegro_client(allegro, ctl, context.run.run_id) as client,
    ):
        report = sync_offers(ctl, client, wh)
        table = table_materialization_metadata(wh, OFFERS_TABLE)
    for outcome in report.failed:
        context.log.warning(f"{outcome.name}: {outcome.error}; fix: {outcome.fix}")
    check = dg.AssetCheckResult(
        check_name=ALL_OFFERS_LOADED,
        passed=not report.failed,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "every consented customer's offers loaded"
            if not report.failed
            else "; ".join(
                f"{o.name} ({o.customer_id}) offers not refreshed: {o.error}; fix: {o.fix}"
                for o in report.failed
            )
        ),
    )
    return dg.MaterializeResult(metadata=offers_metadata(report) | table, check_results=[check])
