"""Customers: the list (scoped), one customer's page, and the admin actions on them
(create, deactivate, portfolio, authorisation links)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.wrappers import Response

from authorize_app.portal.connection_state import ConnectionState, connection_state
from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import text_field
from authorize_app.portal.freshness import latest_days
from authorize_app.portal.statistics_links import StatisticsLink, statistics_links, token_infos
from control_store import auth_links, customers, portfolios
from control_store.customers import Customer
from control_store.database import Conflict
from services.link_mail import lifetime_en
from services.links import issue_link

CURRENCY_CHARS = 3


@dataclass(frozen=True, slots=True)
class CustomerRow:
    customer: Customer
    connection: ConnectionState
    latest_day: date | None
    statistics: StatisticsLink


def _rows(ctx: Ctx, found: list[Customer]) -> tuple[list[CustomerRow], bool]:
    """Rows with connection and freshness; the flag says whether freshness could be read."""
    infos = token_infos(ctx.control)
    now = datetime.now(UTC)
    expiring = ctx.control.settings.expiring_days
    days = latest_days(ctx, [c.id for c in found])
    links = statistics_links(ctx.control, found, infos)
    rows = [
        CustomerRow(
            c,
            connection_state(infos.get(c.id), now, expiring),
            (days or {}).get(c.id),
            links[c.id],
        )
        for c in found
    ]
    return rows, days is not None


def customers_list(ctx: Ctx) -> Response:
    """GET /customers: every customer in scope; admins also get the forms."""
    rows, fresh = _rows(ctx, ctx.scope.customers)
    choices = portfolios.list_portfolios(ctx.control.engine) if ctx.scope.is_admin else []
    return ctx.render(
        "customers.html", active="customers", rows=rows, freshness_ok=fresh, portfolios=choices
    )


def customer_detail(ctx: Ctx, customer_id: str) -> Response:
    """GET /customers/<id>: one customer in scope (404 otherwise); links for admins."""
    customer = ctx.scope.require(customer_id)
    rows, fresh = _rows(ctx, [customer])
    links = auth_links.list_links(ctx.control.engine, customer.id) if ctx.scope.is_admin else []
    choices = portfolios.list_portfolios(ctx.control.engine) if ctx.scope.is_admin else []
    now = datetime.now(UTC)
    return ctx.render(
        "customer.html",
        active="customers",
        row=rows[0],
        freshness_ok=fresh,
        links=[(link, link.state(now).value) for link in links],
        portfolios=choices,
        link_lifetime=lifetime_en(timedelta(hours=ctx.control.settings.link_ttl_hours)),
    )


def customer_create(ctx: Ctx) -> Response:
    """POST /customers (admin): a new customer, optionally in a portfolio."""
    form = ctx.request.form
    name = text_field(form, "name", "Customer name")
    portfolio = _portfolio_id(ctx, form.get("portfolio", ""))
    currency = text_field(form, "currency", "Currency", max_chars=CURRENCY_CHARS, required=False)
    try:
        created = customers.create_customer(
            ctx.control.engine, name, portfolio=portfolio, currency=currency or "PLN"
        )
    except ValueError as exc:
        raise BadRequest(f"{exc}.") from None
    return ctx.redirect("customer_detail", customer_id=created.id)


def customer_deactivate(ctx: Ctx, customer_id: str) -> Response:
    """POST /customers/<id>/deactivate (admin): stop pulling data; history stays."""
    customer = ctx.scope.require(customer_id)
    customers.deactivate_customer(ctx.control.engine, customer.id)
    return ctx.redirect("customer_detail", customer_id=customer.id)


def customer_portfolio(ctx: Ctx, customer_id: str) -> Response:
    """POST /customers/<id>/portfolio (admin): move the customer to a portfolio (or none)."""
    customer = ctx.scope.require(customer_id)
    portfolio = _portfolio_id(ctx, ctx.request.form.get("portfolio", ""))
    customers.assign_portfolio(ctx.control.engine, customer.id, portfolio)
    return ctx.redirect("customer_detail", customer_id=customer.id)


def link_create(ctx: Ctx, customer_id: str) -> Response:
    """POST /customers/<id>/links (admin): a new consent link, shown once to copy."""
    customer = ctx.scope.require(customer_id)
    if not customer.active:
        raise Conflict(f"{customer.name} is deactivated; no link can be issued for it.")
    assert ctx.user is not None
    issued = issue_link(ctx.control, customer.id, created_by=ctx.user.email)
    return ctx.render("link_created.html", active="customers", customer=customer, issued=issued)


def link_revoke(ctx: Ctx, link_id: str) -> Response:
    """POST /links/<id>/revoke (admin): the link stops working; a used link stays used."""
    link = auth_links.get_link(ctx.control.engine, link_id)
    if link is None:
        raise NotFound("There is no such link. Reload the customer's page.")
    customer = ctx.scope.require(link.customer_id)
    auth_links.revoke_link(ctx.control.engine, link.id)
    return ctx.redirect("customer_detail", customer_id=customer.id)


def portfolio_create(ctx: Ctx) -> Response:
    """POST /portfolios (admin): a new, empty portfolio."""
    name = text_field(ctx.request.form, "name", "Portfolio name")
    portfolios.create_portfolio(ctx.control.engine, name)
    return ctx.redirect("customers_list")


def _portfolio_id(ctx: Ctx, value: str) -> str | None:
    """A portfolio id chosen in a form ('' for none); 400 for anything not in the list."""
    if not value:
        return None
    known = {p.id for p in portfolios.list_portfolios(ctx.control.engine)}
    if value not in known:
        raise BadRequest("Choose the portfolio from the list (or none).")
    return value
