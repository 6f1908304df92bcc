"""Staff accounts (admin only): create and deactivate viewers, grant and revoke portfolios."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.wrappers import Response

from authorize_app.portal.auth import MAX_PASSWORD_CHARS
from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import password_field, text_field
from control_store import portfolios, users
from control_store.portfolios import Portfolio
from control_store.users import User


@dataclass(frozen=True, slots=True)
class ViewerRow:
    user: User
    granted: list[Portfolio]
    grantable: list[Portfolio]


def viewers_list(ctx: Ctx) -> Response:
    """GET /viewers: every account; viewers with their portfolios and the forms."""
    engine = ctx.control.engine
    every = portfolios.list_portfolios(engine)
    rows = []
    for user in users.list_users(engine):
        granted_ids = set(portfolios.portfolio_ids_of(engine, user.id))
        granted = [p for p in every if p.id in granted_ids]
        grantable = [p for p in every if p.id not in granted_ids]
        rows.append(ViewerRow(user, granted, grantable))
    return ctx.render("viewers.html", active="viewers", rows=rows, portfolios=every)


def viewer_create(ctx: Ctx) -> Response:
    """POST /viewers: a new viewer, optionally with a first portfolio."""
    form = ctx.request.form
    email = text_field(form, "email", "Email", max_chars=320)
    password = password_field(form, "password", "Password", max_chars=MAX_PASSWORD_CHARS)
    portfolio = _portfolio(ctx, form.get("portfolio", ""), required=False)
    try:
        user = users.create_user(ctx.control.engine, email, password, "viewer")
    except ValueError as exc:
        raise BadRequest(f"{exc}.") from None
    if portfolio is not None:
        portfolios.grant(ctx.control.engine, user.email, portfolio.id)
    return ctx.redirect("viewers_list")


def viewer_deactivate(ctx: Ctx, user_id: str) -> Response:
    """POST /viewers/<id>/deactivate: the viewer can no longer sign in."""
    viewer = _viewer(ctx, user_id)
    users.deactivate_user(ctx.control.engine, viewer.email)
    return ctx.redirect("viewers_list")


def viewer_grant(ctx: Ctx, user_id: str) -> Response:
    """POST /viewers/<id>/grant: the viewer sees the portfolio's customers."""
    viewer = _viewer(ctx, user_id)
    portfolio = _portfolio(ctx, ctx.request.form.get("portfolio", ""), required=True)
    assert portfolio is not None
    portfolios.grant(ctx.control.engine, viewer.email, portfolio.id)
    return ctx.redirect("viewers_list")


def viewer_revoke(ctx: Ctx, user_id: str) -> Response:
    """POST /viewers/<id>/revoke: the viewer no longer sees the portfolio's customers."""
    viewer = _viewer(ctx, user_id)
    portfolio = _portfolio(ctx, ctx.request.form.get("portfolio", ""), required=True)
    assert portfolio is not None
    portfolios.revoke(ctx.control.engine, viewer.email, portfolio.id)
    return ctx.redirect("viewers_list")


def _viewer(ctx: Ctx, user_id: str) -> User:
    found = users.get_user(ctx.control.engine, user_id)
    if found is None:
        raise NotFound("There is no such account. Reload the Viewers page.")
    if found.is_admin:
        raise BadRequest(f"{found.email} is an admin; admins see every customer already.")
    return found


def _portfolio(ctx: Ctx, value: str, *, required: bool) -> Portfolio | None:
    if not value and not required:
        return None
    for portfolio in portfolios.list_portfolios(ctx.control.engine):
        if portfolio.id == value:
            return portfolio
    raise BadRequest("Choose the portfolio from the list.")
