"""``allegro-ads tokens``: customers' connection status; force a refresh. Never prints a token."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from allegro_ads.console import cli_control, format_table, format_time
from control_store import customers
from control_store.token_store import token_status
from services.clients import token_manager


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tokens", help="connection status; refresh a customer's token")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    status = actions.add_parser("status", help="every customer's connection (no secrets shown)")
    status.set_defaults(func=_status)
    refresh = actions.add_parser("refresh", help="refresh a customer's access token now")
    refresh.add_argument("customer", metavar="CUSTOMER", help="customer id or name")
    refresh.set_defaults(func=_refresh)


def _status(args: argparse.Namespace) -> int:
    with cli_control() as control:
        infos = {info.account_id: info for info in control.tokens.list_info()}
        found = customers.list_customers(control.engine, active_only=True)
        expiring_days = control.settings.expiring_days
    now = datetime.now(UTC)
    rows: list[tuple[object, ...]] = []
    for c in found:
        info = infos.get(c.id)
        if info is None:
            rows.append((c.name, c.allegro_login, "not connected", None, None, None, None))
            continue
        rows.append(
            (
                c.name,
                c.allegro_login,
                token_status(info, now, expiring_days).value,
                format_time(info.expires_at),
                format_time(info.refresh_expires_at),
                format_time(info.last_refresh_at),
                (info.last_error or "")[:80] or None,
            )
        )
    headers = (
        "CUSTOMER",
        "ALLEGRO LOGIN",
        "STATUS",
        "ACCESS EXPIRES",
        "REFRESH EXPIRES",
        "LAST REFRESH",
        "LAST ERROR",
    )
    print(format_table(headers, rows) if rows else "no active customers")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    with cli_control() as control:
        customer = customers.find_customer(control.engine, args.customer)
        token_manager(control).access_token(customer.id, force_refresh=True)
        info = control.tokens.info(customer.id)
    expires = format_time(info.expires_at) if info else "-"
    print(f"refreshed {customer.name} ({customer.id}); access token valid until {expires}")
    return 0
