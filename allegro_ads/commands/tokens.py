"""``allegro-ads tokens``: every connection's status (agency accounts, then customers' sales
accounts); force a refresh. Never prints a token."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from allegro_ads.console import cli_control, format_table, format_time
from control_store import agency_accounts, customers
from control_store.account_kind import AccountKind
from control_store.database import NotFound
from control_store.token_store import TokenInfo, token_status
from services.agency_status import NOT_CONNECTED, agency_connections
from services.clients import token_manager
from services.control import Control


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tokens", help="connection status of agency and sales accounts; refresh a token"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    status = actions.add_parser(
        "status", help="every connection, agency accounts first (no secrets shown)"
    )
    status.set_defaults(func=_status)
    refresh = actions.add_parser("refresh", help="refresh an account's access token now")
    refresh.add_argument(
        "account", metavar="ACCOUNT", help="customer or agency account (id or name)"
    )
    refresh.set_defaults(func=_refresh)


def _status(args: argparse.Namespace) -> int:
    with cli_control() as control:
        now = datetime.now(UTC)
        agencies = agency_connections(
            control.engine, control.tokens, now, control.settings.expiring_days
        )
        infos = {info.account_id: info for info in control.tokens.list_info(AccountKind.SALES)}
        found = customers.list_customers(control.engine, active_only=True)
        expiring_days = control.settings.expiring_days
    rows: list[tuple[object, ...]] = [
        (c.account.name, "agency", c.account.allegro_login, c.status, *_times(c.info))
        for c in agencies
        if c.account.active
    ]
    for customer in found:
        info = infos.get(customer.id)
        status = token_status(info, now, expiring_days).value if info else NOT_CONNECTED
        rows.append((customer.name, "sales", customer.allegro_login, status, *_times(info)))
    headers = (
        "ACCOUNT",
        "KIND",
        "ALLEGRO LOGIN",
        "STATUS",
        "ACCESS EXPIRES",
        "REFRESH EXPIRES",
        "LAST REFRESH",
        "LAST ERROR",
    )
    print(format_table(headers, rows) if rows else "no agency accounts and no active customers")
    return 0


def _times(info: TokenInfo | None) -> tuple[object, ...]:
    if info is None:
        return (None, None, None, None)
    return (
        format_time(info.expires_at),
        format_time(info.refresh_expires_at),
        format_time(info.last_refresh_at),
        (info.last_error or "")[:80] or None,
    )


def _refresh(args: argparse.Namespace) -> int:
    with cli_control() as control:
        account_id, name = _account(control, args.account)
        token_manager(control).access_token(account_id, force_refresh=True)
        info = control.tokens.info(account_id)
    expires = format_time(info.expires_at) if info else "-"
    print(f"refreshed {name} ({account_id}); access token valid until {expires}")
    return 0


def _account(control: Control, id_or_name: str) -> tuple[str, str]:
    """(id, name) of the customer, else the agency account, with this id or name."""
    try:
        customer = customers.find_customer(control.engine, id_or_name)
    except NotFound:
        try:
            agency = agency_accounts.find_agency_account(control.engine, id_or_name)
        except NotFound:
            raise NotFound(
                f"no customer or agency account {id_or_name!r}; see: allegro-ads tokens status"
            ) from None
        return agency.id, agency.name
    return customer.id, customer.name
