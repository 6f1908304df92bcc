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
from allegro_resource.fan_out import fan_out
from allegro_resource.models import Offer
from control_store import customers
from control_store.account_kind import AccountKind
from control_store.token_store import TokenInfo, token_status
from services.control import Control
from services.stats_sync import USABLE
from warehouse.offers_schema import OFFER_INPUT_SCHEMA
from warehouse.stats_loader import Warehouse

_THREADS = "offers"
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
    were. A customer whose ads point to no offer yet is skipped. The offers are read
    concurrently (the client's ``concurrency``) and then written in one short transaction.
    """
    now = now or datetime.now(UTC)
    report = OffersReport()
    asked: list[OffersAsked] = []
    for customer, connection in _customers_with_sales(control, customer_ids):
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
        report.outcomes.append(outcome)
        asked.append(OffersAsked(outcome, ids))
    fetched = [f for f in fetch_offers(api, asked) if f.table is not None]
    store_offers(warehouse, fetched, now)
    return report


@dataclass
class OffersAsked:
    """One customer's outcome and the offer ids to ask its sales account for."""

    outcome: OffersOutcome
    offer_ids: list[str]
    table: pa.Table | None = None  # the answer, once read; None after a failed call


def _customers_with_sales(
    control: Control, customer_ids: Sequence[str] | None
) -> list[tuple[customers.Customer, TokenInfo]]:
    """The active customers with a sales connection (those named, when ``customer_ids``)."""
    wanted = None if customer_ids is None else set(customer_ids)
    connections = {i.account_id: i for i in control.tokens.list_info(AccountKind.SALES)}
    found = []
    for customer in customers.list_customers(control.engine):
        connection = connections.get(customer.id)
        if not customer.active or connection is None:
            continue
        if wanted is not None and customer.id not in wanted and customer.name not in wanted:
            continue
        found.append((customer, connection))
    return found


def fetch_offers(api: AllegroAdsClient, asked: Sequence[OffersAsked]) -> list[OffersAsked]:
    """Each customer's offers read on the client's bounded pool (``api.concurrency`` calls
    under way); a failed call is recorded in that customer's outcome and stops no other."""

    def read(one: OffersAsked) -> OffersAsked:
        customer_id = one.outcome.customer_id
        try:
            one.table = offers_table(api.offers(customer_id, one.offer_ids))
        except Exception as exc:  # one customer's failure never stops the others
            one.outcome.error = f"{type(exc).__name__}: {exc}"
            one.outcome.fix = _fix(exc, customer_id)
        return one

    return list(fan_out(read, asked, concurrency=api.concurrency, thread_name_prefix=_THREADS))


def store_offers(warehouse: Warehouse, fetched: Sequence[OffersAsked], now: datetime) -> None:
    """Write every fetched list in one transaction; if that fails (one customer's list does not
    fit, or the write), write them one by one so that only the failing customer fails."""
    try:
        loaded = warehouse.load_offers_of_customers(
            {f.outcome.customer_id: f.table for f in fetched if f.table is not None}, now
        )
    except Exception:  # each customer is retried alone and reports its own error
        for one in fetched:
            _store_alone(warehouse, one, now)
        return
    for one in fetched:
        one.outcome.stored = loaded[one.outcome.customer_id].rows_inserted


def _store_alone(warehouse: Warehouse, one: OffersAsked, now: datetime) -> None:
    customer_id = one.outcome.customer_id
    assert one.table is not None
    try:
        one.outcome.stored = warehouse.load_offers(customer_id, one.table, now).rows_inserted
    except Exception as exc:  # one customer's failure never stops the others
        one.outcome.error = f"{type(exc).__name__}: {exc}"
        one.outcome.fix = _fix(exc, customer_id)


def _fix(error: Exception, customer_id: str) -> str:
    if isinstance(error, MissingScope):
        return error.fix or reconnect_fix(customer_id)
    if isinstance(error, NeedsReauthorization):
        return reconnect_fix(customer_id)
    return f"re-run the offers for this customer ({customer_id}) once Allegro answers again"
