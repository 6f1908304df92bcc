"""The connections board: every visible customer's token status, last refresh, last error,
and a one-click new link (admins) where re-authorisation is needed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.wrappers import Response

from authorize_app.portal.connection_state import LABELS, ORDER, ConnectionState, connection_state
from authorize_app.portal.context import Ctx
from control_store.customers import Customer


@dataclass(frozen=True, slots=True)
class BoardRow:
    customer: Customer
    connection: ConnectionState


def connections(ctx: Ctx) -> Response:
    """GET /connections."""
    visible = ctx.scope.customers
    wanted = set(ctx.scope.customer_ids())
    infos = {i.account_id: i for i in ctx.control.tokens.list_info() if i.account_id in wanted}
    now = datetime.now(UTC)
    expiring = ctx.control.settings.expiring_days
    rows = [BoardRow(c, connection_state(infos.get(c.id), now, expiring)) for c in visible]
    rows.sort(key=lambda r: (ORDER.index(r.connection.key), r.customer.name.lower()))
    counts = Counter(r.connection.key for r in rows)
    summary = [(LABELS[key], counts[key]) for key in ORDER if counts[key]]
    return ctx.render("connections.html", active="connections", rows=rows, summary=summary)
