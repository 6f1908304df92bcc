"""Offer enrichment: the seller data behind sponsored ads, read with each customer's own sales
account and loaded into the warehouse's ``offers`` table.

Plain functions, no Dagster: the ``offers`` asset calls ``sync_offers``. The offers asked for are
those the customer's sponsored ads point to (``ads.offer_id`` in the warehouse: statistics come
first). A customer without a sales connection is not asked; one whose connection broke is
reported with its reason and fix and keeps its last stored offers. Statistics never depend on
this: they are read with the agency account's token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.errors import MissingScope, NeedsReauthorization, reconnect_fix
from allegro_resource.models import Offer
from control_store import customers
from control_store.account_kind import AccountKind
from control_store.token_store import token_status
from services.control import Control
from services.stats_sync import USABLE
from warehouse.offers_schema import OFFER_INPUT_SCHEMA
from warehouse.stats_loader import Warehouse

_AD_OFFERS = """
SELECT DISTINCT offer_id FROM ads
WHERE customer_id = $customer_id AND ad_type = 'SPONSORED_OFFER' AND offer_id IS NOT NULL
ORDER BY offer_id"""


@dataclass
class OffersOutcome:
    """What happened to one customer's offers."""

    customer_id: str
    name: str
    asked: int = 0  # offer ids its sponsored ads point to
    stored: int = 0  # offers the sales account returned and the warehouse now holds
    error: str | None = None
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class OffersReport:
    outcomes: list[OffersOutcome] = field(default_factory=list)

    @property
    def loaded(self) -> list[OffersOutcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[OffersOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def offers(self) -> int:
        return sum(o.stored for o in self.outcomes)


def offers_table(offers: Sequence[Offer]) -> pa.Table:
    """The client's offers as the table ``Warehouse.load_offers`` takes."""
    columns = {
        "offer_id": [o.id for o in offers],
        "name": [o.name for o in offers],
        "price": [o.price for o in offers],
        "currency": [o.currency for o in offers],
        "stock_available": [o.stock_available for o in offers],
        "stock_sold": [o.stock_sold for o in offers],
        "status": [o.status for o in offers],
    }
    return pa.Table.from_pydict(columns, schema=OFFER_INPUT_SCHEMA)


def ad_offer_ids(warehouse: Warehouse, customer_id: str) -> list[str]:
    """The offers the customer's sponsored ads point to, as loaded so far."""
    table = warehouse.read(_AD_OFFERS, {"customer_id": customer_id})
    return [str(v) for v in table.column("offer_id").to_pylist()]


def sync_offers(
    control: Control,
    api: AllegroAdsClient,
    warehouse: Warehouse,
    customer_ids: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
) -> OffersReport:
    """Replace the stored offers of every active customer with a sales connection (or of those
    in ``customer_ids``) with what its sales account says now.

    A connection that is ``needs_reauth``, ``revoked`` or ``expired`` is reported without a
    call; a call that fails is reported; either way the customer's stored offers stay as they
    were. A customer whose ads point to no offer yet is skipped.
    """
    now = now or datetime.now(UTC)
    wanted = None if customer_ids is None else set(customer_ids)
    connections = {i.account_id: i for i in control.tokens.list_info(AccountKind.SALES)}
    report = OffersReport()
    for customer in customers.list_customers(control.engine):
        connection = connections.get(customer.id)
        if not customer.active or connection is None:
            continue
        if wanted is not None and customer.id not in wanted and customer.name not in wanted:
            continue
        outcome = OffersOutcome(customer.id, customer.name)
        status = token_status(connection, now, control.settings.expiring_days)
        if status not in USABLE:
            outcome.error = (
                f"the sales account's connection is {status.value} "
                f"({connection.last_error or 'no reason recorded'}); offer names, prices and "
                "stock are not refreshed (statistics still load)"
            )
            outcome.fix = reconnect_fix(customer.id)
            report.outcomes.append(outcome)
            continue
        ids = ad_offer_ids(warehouse, customer.id)
        if not ids:
            continue
        outcome.asked = len(ids)
        try:
            offers = api.offers(customer.id, ids)
            loaded = warehouse.load_offers(customer.id, offers_table(offers), now)
            outcome.stored = loaded.rows_inserted
        except Exception as exc:  # one customer's failure never stops the others
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.fix = _fix(exc, customer.id)
        report.outcomes.append(outcome)
    return report


def _fix(error: Exception, customer_id: str) -> str:
    if isinstance(error, MissingScope):
        return error.fix or reconnect_fix(customer_id)
    if isinstance(error, NeedsReauthorization):
        return reconnect_fix(customer_id)
    return f"re-run the offers for this customer ({customer_id}) once Allegro answers again"
