"""The connections board: the agency accounts' connections first (a broken one is the most
urgent row and names every customer it stops), then every visible customer's sales connection
(token status, last refresh, last error, a one-click new link where re-authorisation is
needed) and how its statistics are reached."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.wrappers import Response

from authorize_app.portal.connection_state import LABELS, ORDER, ConnectionState, connection_state
from authorize_app.portal.context import Ctx
from authorize_app.portal.statistics_links import (
    StatisticsLink,
    agency_rows,
    statistics_links,
    token_infos,
)
from control_store.customers import Customer


@dataclass(frozen=True, slots=True)
class BoardRow:
    customer: Customer
    connection: ConnectionState
    statistics: StatisticsLink


def connections(ctx: Ctx) -> Response:
    """GET /connections."""
    visible = ctx.scope.customers
    infos = token_infos(ctx.control)
    now = datetime.now(UTC)
    expiring = ctx.control.settings.expiring_days
    links = statistics_links(ctx.control, visible, infos)
    rows = [
        BoardRow(c, connection_state(infos.get(c.id), now, expiring), links[c.id]) for c in visible
    ]
    rows.sort(key=lambda r: (ORDER.index(r.connection.key), r.customer.name.lower()))
    counts = Counter(r.connection.key for r in rows)
    summary = [(LABELS[key], counts[key]) for key in ORDER if counts[key]]
    agencies = agency_rows(ctx.control, visible, infos)
    return ctx.render(
        "connections.html",
        active="connections",
        agencies=agencies,
        broken_agencies=sum(1 for a in agencies if a.broken and a.customers),
        rows=rows,
        summary=summary,
    )
