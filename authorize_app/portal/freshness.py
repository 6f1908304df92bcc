"""Reads from the warehouse that pages show beside other data and may do without."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from authorize_app.portal.context import Ctx
from warehouse.stats_queries import latest_loaded_day

log = logging.getLogger("authorize_app.portal")


def latest_days(ctx: Ctx, customer_ids: Sequence[str]) -> dict[str, date | None] | None:
    """Each customer's latest loaded day; None when the warehouse cannot be read right now."""
    if not customer_ids:
        return {}
    try:
        with ctx.services.warehouse.open() as warehouse:
            return latest_loaded_day(warehouse, list(customer_ids))
    except Exception as exc:  # the page still shows; the day reads "unavailable"
        log.warning("latest loaded days unavailable: %s: %s", type(exc).__name__, exc)
        return None
