"""The ``agency_clients`` asset: every connected agency account's client list, recorded daily
before the statistics are read."""

# No `from __future__ import annotations`: Dagster reads the parameter annotations at run time.
from datetime import UTC, datetime

import dagster as dg

from allegro_resource.resource import AllegroResource
from pipelines.resources import ControlStoreResource, allegro_client
from services.discovery import AgencyListing, discover_clients

AGENCY_CLIENTS = "agency_clients"
ALL_AGENCIES_LISTED = "every_agency_account_listed"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def listings_table(listings: list[AgencyListing]) -> str:
    """A Markdown table: one line per agency account with its clients and what changed."""
    lines = [
        "| agency account | id | clients | new | removed | error | fix |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for listing in listings:
        lines.append(
            f"| {_cell(listing.name)} | {listing.agency_account_id} | {listing.clients} "
            f"| {len(listing.new)} | {len(listing.removed)} | {_cell(listing.error)} "
            f"| {_cell(listing.fix)} |"
        )
    return "\n".join(lines)


def listing_metadata(listings: list[AgencyListing]) -> dict[str, dg.MetadataValue]:  # type: ignore[type-arg]
    flagged = [flag for listing in listings for flag in listing.flagged]
    return {
        "agency_accounts": dg.MetadataValue.int(len(listings)),
        "agency_accounts_failed": dg.MetadataValue.int(sum(not x.ok for x in listings)),
        "clients": dg.MetadataValue.int(sum(x.clients for x in listings)),
        "new_clients": dg.MetadataValue.text(
            ", ".join(f"{c.name} ({c.client_id})" for x in listings for c in x.new) or "none"
        ),
        "removed_clients": dg.MetadataValue.text(
            ", ".join(f"{c.name} ({c.client_id})" for x in listings for c in x.removed) or "none"
        ),
        "flagged_customers": dg.MetadataValue.md(
            "\n".join(
                f"- `{f.customer_id}` (client {f.client_name}, `{f.client_id}`): {f.reason}"
                for f in flagged
            )
            or "none"
        ),
        "per_agency_account": dg.MetadataValue.md(listings_table(listings)),
    }


@dg.asset(
    name=AGENCY_CLIENTS,
    group_name="allegro_ads",
    kinds={"python"},
    owners=["team:data-engineering"],
    check_specs=[
        dg.AssetCheckSpec(
            ALL_AGENCIES_LISTED,
            asset=AGENCY_CLIENTS,
            description="Every active agency account's client list was read; a broken agency "
            "connection stops every customer behind it.",
        )
    ],
)
def agency_clients(
    context: dg.AssetExecutionContext,
    allegro: AllegroResource,
    control: ControlStoreResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Each connected agency account's clients (`/advertising-agencies/clients`) into the
    control store's `agency_clients`: new clients are offered for adoption, clients that left
    flag their customers ("access removed in Allegro Ads: ask the seller to accept the agency's
    request again"). An agency account that cannot be listed fails the
    `every_agency_account_listed` check with the fix; the others are recorded.
    """
    with control.open() as ctl, allegro_client(allegro, ctl, context.run.run_id) as client:
        listings = discover_clients(ctl, client, datetime.now(UTC))
    for listing in listings:
        if listing.ok:
            context.log.info(
                f"{listing.name}: {listing.clients} clients, {len(listing.new)} new, "
                f"{len(listing.removed)} removed"
            )
        else:
            context.log.error(f"{listing.name}: {listing.error}; fix: {listing.fix}")
    failed = [x for x in listings if not x.ok]
    check = dg.AssetCheckResult(
        check_name=ALL_AGENCIES_LISTED,
        passed=not failed,
        description=(
            "every active agency account listed"
            if not failed
            else "; ".join(
                f"agency account {x.name} not listed: {x.error}; fix: {x.fix}" for x in failed
            )
        ),
    )
    return dg.MaterializeResult(metadata=listing_metadata(listings), check_results=[check])
