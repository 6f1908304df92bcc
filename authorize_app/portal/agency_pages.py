"""Agency accounts (admins): create one, connect or reconnect it through Allegro's code flow
(state and PKCE bound to the admin's session), its status; and each account's clients, to adopt
as customers or link to existing ones.

The connect button sends the admin to Allegro; Allegro answers on the shared ``/oauth/callback``,
which forwards agency states here (``AGENCY_CALLBACK_PATH``), so the admin's session cookie
(scoped to the portal) is what finishes the sign-in.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.exceptions import BadRequest
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from allegro_resource.errors import AllegroError, InvalidGrant
from allegro_resource.oauth import OAuthClient
from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import text_field
from authorize_app.portal.statistics_links import (
    ACCESS_REMOVED,
    AgencyRow,
    agency_infos,
    agency_rows,
)
from control_store import agency_accounts, agency_clients, portfolios
from control_store.agency_accounts import AgencyAccount
from control_store.agency_clients import AgencyClient
from control_store.agency_oauth_states import AgencyStateUnusable, consume_agency_state
from control_store.api_call_log import ControlStoreCallLog
from control_store.customers import Customer
from control_store.database import NotFound
from services import clients
from services.agency_connect import (
    begin_agency_consent,
    finish_agency_consent,
    record_clients_now,
)

log = logging.getLogger("authorize_app.portal.agency")

AGENCY_CALLBACK_PATH = "/agency-accounts/callback"
CURRENCY_CHARS = 3


@dataclass(frozen=True, slots=True)
class ClientRow:
    client: AgencyClient
    customer: Customer | None


# --- agency accounts -------------------------------------------------------------------------


def agency_accounts_page(ctx: Ctx, *, problem: str = "", status: int = 200) -> Response:
    """GET /agency-accounts: every agency account, its connection and customers."""
    rows = agency_rows(ctx.control, ctx.scope.customers, agency_infos(ctx.control))
    counts = {row.account.id: _client_counts(ctx, row) for row in rows}
    return ctx.render(
        "agency_accounts.html",
        status=status,
        active="agency",
        rows=rows,
        counts=counts,
        problem=problem,
    )


def agency_account_create(ctx: Ctx) -> Response:
    """POST /agency-accounts: a new, not yet connected agency account."""
    name = text_field(ctx.request.form, "name", "Agency account name")
    try:
        agency_accounts.create_agency_account(ctx.control.engine, name)
    except ValueError as exc:
        raise BadRequest(f"{exc}.") from None
    return ctx.redirect("agency_accounts")


def agency_connect(ctx: Ctx, agency_account_id: str) -> Response:
    """POST /agency-accounts/<id>/connect: off to Allegro's consent page (code flow + PKCE)."""
    account = _account(ctx, agency_account_id)
    assert ctx.user is not None
    with closing(clients.oauth_client(ctx.control.settings)) as oauth:
        url = begin_agency_consent(ctx.control, oauth, account.id, ctx.user.id)
    log.info("%s started connecting agency account %s", ctx.user.email, account.id)
    return redirect(url, code=303)


def agency_callback(ctx: Ctx) -> Response:
    """GET /agency-accounts/callback?state=&code= (forwarded from /oauth/callback): finish the
    sign-in begun by this admin, list the account's clients, go to them."""
    assert ctx.user is not None
    state = text_field(ctx.request.args, "state", "State", max_chars=2048)
    error = ctx.request.args.get("error", "")
    control = ctx.control
    with (
        ControlStoreCallLog(control.engine) as call_log,
        closing(clients.oauth_client(control.settings, call_log)) as oauth,
    ):
        if error:
            return _declined(ctx, state, error[:200])
        code = text_field(ctx.request.args, "code", "Code", max_chars=2048)
        try:
            account = finish_agency_consent(
                control, oauth, state=state, code=code, user_id=ctx.user.id, call_log=call_log
            )
        except AgencyStateUnusable as exc:
            return agency_accounts_page(ctx, problem=f"{exc}.", status=400)
        except InvalidGrant:
            return agency_accounts_page(
                ctx,
                problem="Allegro refused the confirmation code (it lives 10 seconds and works "
                "once). Press Connect again.",
                status=400,
            )
        except AllegroError as exc:
            log.warning("agency connection failed at Allegro: %s", exc)
            return agency_accounts_page(
                ctx,
                problem=f"Allegro did not complete the connection ({exc}). Nothing was stored; "
                "press Connect again in a few minutes.",
                status=502,
            )
        log.info("%s connected agency account %s (%s)", ctx.user.email, account.id, account.name)
        _list_clients(ctx, oauth, call_log, account)
    return ctx.redirect("agency_clients", agency_account_id=account.id)


def _declined(ctx: Ctx, state: str, error: str) -> Response:
    """Allegro answered with an error (e.g. the admin pressed deny): use the state up so the
    answer cannot be replayed; nothing is stored."""
    assert ctx.user is not None
    try:
        consume_agency_state(ctx.control.engine, ctx.control.tokens.cipher, state, ctx.user.id)
    except AgencyStateUnusable as exc:
        return agency_accounts_page(ctx, problem=f"{exc}.", status=400)
    log.info("agency sign-in declined by Allegro: %r", error)
    return agency_accounts_page(
        ctx,
        problem="Allegro did not grant access (the request was declined), so nothing was "
        "connected. Press Connect and choose to allow access.",
        status=403,
    )


def _list_clients(
    ctx: Ctx, oauth: OAuthClient, call_log: ControlStoreCallLog, account: AgencyAccount
) -> None:
    """List the new connection's clients now (the daily listing would take until tomorrow); a
    failure is noted on the connection and never undoes it."""
    provider = clients.token_manager(ctx.control, oauth)
    try:
        with clients.ads_client(ctx.control.settings, provider, call_log) as api:
            record_clients_now(ctx.control, api, account.id)
    except AllegroError as exc:
        log.warning("listing the clients of %s failed: %s", account.id, exc)
        ctx.control.tokens.record_error(account.id, f"listing clients failed: {exc}", _now())


# --- an agency account's clients -----------------------------------------------------------


def agency_clients_page(ctx: Ctx, agency_account_id: str) -> Response:
    """GET /agency-accounts/<id>/clients: unadopted, adopted and removed clients."""
    account = _account(ctx, agency_account_id)
    by_id = {c.id: c for c in ctx.scope.customers}
    rows = [
        ClientRow(client, by_id.get(client.customer_id) if client.customer_id else None)
        for client in agency_clients.clients_of(ctx.control.engine, account.id)
    ]
    info = ctx.control.tokens.info(account.id)
    linkable = [c for c in ctx.scope.customers if c.active and not c.has_statistics_link]
    return ctx.render(
        "agency_clients.html",
        active="agency",
        account=account,
        last_error=info.last_error if info else None,
        connected=info is not None,
        unadopted=[r for r in rows if r.customer is None and not r.client.removed],
        adopted=[r for r in rows if r.customer is not None and not r.client.removed],
        removed=[r for r in rows if r.client.removed],
        linkable=linkable,
        portfolios=portfolios.list_portfolios(ctx.control.engine),
        access_removed=ACCESS_REMOVED,
    )


def agency_clients_refresh(ctx: Ctx, agency_account_id: str) -> Response:
    """POST /agency-accounts/<id>/clients/refresh: list the clients now."""
    account = _account(ctx, agency_account_id)
    control = ctx.control
    with (
        ControlStoreCallLog(control.engine) as call_log,
        closing(clients.oauth_client(control.settings, call_log)) as oauth,
        clients.ads_client(
            control.settings, clients.token_manager(control, oauth), call_log
        ) as api,
    ):
        record_clients_now(control, api, account.id)
    return ctx.redirect("agency_clients", agency_account_id=account.id)


def agency_client_adopt(ctx: Ctx, agency_account_id: str) -> Response:
    """POST /agency-accounts/<id>/adopt: a new customer for a listed client, linked to it."""
    account = _account(ctx, agency_account_id)
    form = ctx.request.form
    client_id = text_field(form, "client_id", "Client", max_chars=100)
    name = text_field(form, "name", "Customer name", required=False)
    currency = text_field(form, "currency", "Currency", max_chars=CURRENCY_CHARS, required=False)
    portfolio = _portfolio_id(ctx, form.get("portfolio", ""))
    try:
        customer = agency_clients.adopt_client(
            ctx.control.engine,
            account.id,
            client_id,
            name=name or None,
            portfolio=portfolio,
            currency=currency or "PLN",
        )
    except ValueError as exc:
        raise BadRequest(f"{exc}.") from None
    return ctx.redirect("customer_detail", customer_id=customer.id)


def agency_client_link(ctx: Ctx, agency_account_id: str) -> Response:
    """POST /agency-accounts/<id>/link: link a listed client to an existing customer."""
    account = _account(ctx, agency_account_id)
    form = ctx.request.form
    client_id = text_field(form, "client_id", "Client", max_chars=100)
    customer = ctx.scope.require(text_field(form, "customer", "Customer", max_chars=64))
    agency_clients.link_customer(ctx.control.engine, account.id, client_id, customer.id)
    return ctx.redirect("customer_detail", customer_id=customer.id)


# --- helpers ---------------------------------------------------------------------------------


def _account(ctx: Ctx, agency_account_id: str) -> AgencyAccount:
    found = agency_accounts.get_agency_account(ctx.control.engine, agency_account_id)
    if found is None:
        raise NotFound("There is no such agency account. Pick one from the Agency accounts page.")
    return found


def _client_counts(ctx: Ctx, row: AgencyRow) -> dict[str, int]:
    listed = agency_clients.clients_of(ctx.control.engine, row.account.id)
    return {
        "listed": sum(1 for c in listed if not c.removed),
        "unadopted": sum(1 for c in listed if not c.removed and c.customer_id is None),
        "removed": sum(1 for c in listed if c.removed),
    }


def _portfolio_id(ctx: Ctx, value: str) -> str | None:
    if not value:
        return None
    if value not in {p.id for p in portfolios.list_portfolios(ctx.control.engine)}:
        raise BadRequest("Choose the portfolio from the list (or none).")
    return value


def _now() -> datetime:
    return datetime.now(UTC)
