"""What every analysis page (overview, ad types, offers, campaigns) shares: the customer picker
(search by name, a whole portfolio, all in scope) and the tabs between the views, each link
carrying the dates and the selection so that it survives navigation and can be bookmarked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import text_field
from authorize_app.portal.report_filters import ReportFilters
from control_store.customers import Customer
from control_store.portfolios import Portfolio

# Search results listed in the picker: enough to find one customer among hundreds by typing a
# few letters, few enough that the page stays small.
PICKER_MATCHES = 30
VIEWS = (
    ("overview", "Overview"),
    ("ad_types", "Ad types"),
    ("offers", "Offers"),
    ("reports", "Campaigns"),
)


@dataclass(frozen=True, slots=True)
class Tab:
    endpoint: str
    label: str
    url: str
    current: bool


@dataclass(frozen=True, slots=True)
class Picker:
    """The picker as the page shows it."""

    search: str
    matches: list[Customer]  # search results not already picked
    more_matches: int  # how many further results were left out
    picked: list[Customer]  # customers named one by one
    portfolios: list[Portfolio]  # every portfolio the user sees
    picked_portfolios: set[str]
    in_scope: int  # customers the user sees at all
    label: str  # what is selected, in words


def selection_query(filters: ReportFilters) -> str:
    """``from=…&to=…&portfolio=…&customer=…``: dates and selection, for links between views."""
    dates = [("from", filters.start.isoformat()), ("to", filters.end.isoformat())]
    return urlencode(dates + filters.picked)


def view_context(ctx: Ctx, filters: ReportFilters, endpoint: str) -> dict[str, Any]:
    """The template values of the picker and the tabs for the view ``endpoint``."""
    query = selection_query(filters)
    tabs = [Tab(name, label, f"{ctx.url(name)}?{query}", name == endpoint) for name, label in VIEWS]
    return {
        "tabs": tabs,
        "picker": picker(ctx, filters),
        "selection_query": query,
        "view_endpoint": endpoint,
    }


def picker(ctx: Ctx, filters: ReportFilters) -> Picker:
    scope = ctx.scope
    search = text_field(ctx.request.args, "q", "Search", max_chars=100, required=False)
    picked_ids = set(filters.requested)
    picked = [c for c in scope.customers if c.id in picked_ids]
    found: list[Customer] = []
    if search:
        needle = search.casefold()
        found = [
            c for c in scope.customers if needle in c.name.casefold() and c.id not in picked_ids
        ]
    return Picker(
        search=search,
        matches=found[:PICKER_MATCHES],
        more_matches=max(0, len(found) - PICKER_MATCHES),
        picked=picked,
        portfolios=scope.portfolios,
        picked_portfolios=set(filters.portfolios),
        in_scope=len(scope.customers),
        label=selection_label(scope.portfolios, filters),
    )


def selection_label(portfolios: list[Portfolio], filters: ReportFilters) -> str:
    """E.g. "All 40 customers in your scope", "Portfolio North and 2 more customers: 42"."""
    count = len(filters.customers)
    noun = "customer" if count == 1 else "customers"
    if not filters.requested and not filters.portfolios:
        return f"All {count} {noun} in your scope"
    names = {p.id: p.name for p in portfolios}
    parts = [f"portfolio {names[p]}" for p in filters.portfolios if p in names]
    if filters.requested:
        parts.append(f"{len(filters.requested)} picked by name")
    return f"{count} {noun}: " + ", ".join(parts)
