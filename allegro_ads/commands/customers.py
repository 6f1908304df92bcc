"""``allegro-ads customers``: add, list and deactivate the agency's customers."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.console import cli_control, format_table
from control_store import agency_accounts, agency_clients, customers
from control_store.token_store import token_status


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("customers", help="add, list and deactivate customers")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    add = actions.add_parser(
        "add", help="add a customer (then link its agency client and send it a link)"
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--portfolio", metavar="P", help="portfolio id or name")
    add.add_argument("--currency", default="PLN", help="marketplace currency (default PLN)")
    add.set_defaults(func=_add)

    listing = actions.add_parser(
        "list", help="every customer with its sales-account connection and agency link"
    )
    listing.add_argument("--active", action="store_true", help="only active customers")
    listing.set_defaults(func=_list)

    contact = actions.add_parser(
        "contact", help="show or set the customer's contact address (consent links go there)"
    )
    contact.add_argument("customer", metavar="ID|NAME")
    contact.add_argument("email", metavar="EMAIL", nargs="?", help="the new address")
    contact.add_argument("--clear", action="store_true", help="remove the address")
    contact.set_defaults(func=_contact)

    deactivate = actions.add_parser("deactivate", help="stop pulling data for a customer")
    deactivate.add_argument("customer", metavar="ID|NAME")
    deactivate.set_defaults(func=_deactivate)


def _add(args: argparse.Namespace) -> int:
    with cli_control() as control:
        customer = customers.create_customer(
            control.engine, args.name, portfolio=args.portfolio, currency=args.currency
        )
    print(f"added customer {customer.name} as {customer.id}")
    print(
        f"next: allegro-ads agency link CLIENT_ID {customer.id} (statistics), then "
        f"allegro-ads links create {customer.id} (offer details)"
    )
    return 0


def _contact(args: argparse.Namespace) -> int:
    if args.clear and args.email:
        raise CommandError("give an EMAIL or --clear, not both")
    with cli_control() as control:
        if args.email or args.clear:
            customer = customers.set_contact_email(
                control.engine, args.customer, None if args.clear else args.email
            )
        else:
            customer = customers.find_customer(control.engine, args.customer)
    print(f"{customer.name}: {customer.contact_email or 'no contact address'}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with cli_control() as control:
        found = customers.list_customers(control.engine, active_only=args.active)
        infos = {info.account_id: info for info in control.tokens.list_info()}
        expiring_days = control.settings.expiring_days
        agencies = {a.id: a.name for a in agency_accounts.list_agency_accounts(control.engine)}
        removed = {
            client.customer_id
            for agency_id in agencies
            for client in agency_clients.clients_of(control.engine, agency_id)
            if client.removed and client.customer_id
        }
    now = datetime.now(UTC)
    rows: list[tuple[object, ...]] = []
    for c in found:
        info = infos.get(c.id)
        status = token_status(info, now, expiring_days).value if info else "not connected"
        rows.append(
            (
                c.id,
                c.name,
                c.allegro_login,
                c.portfolio_name,
                c.currency,
                "yes" if c.active else "no",
                status,
                _agency_link(c, agencies, removed),
                c.ads_client_id,
            )
        )
    headers = (
        "ID",
        "NAME",
        "ALLEGRO LOGIN",
        "PORTFOLIO",
        "CUR",
        "ACTIVE",
        "SALES ACCOUNT",
        "AGENCY",
        "ADS CLIENT",
    )
    print(
        format_table(headers, rows) if rows else "no customers yet: allegro-ads customers add NAME"
    )
    return 0


def _agency_link(customer: customers.Customer, agencies: dict[str, str], removed: set[str]) -> str:
    """The agency account whose client the customer is (its statistics link), or what is
    missing."""
    if customer.agency_account_id is None:
        return "not linked"
    name = agencies.get(customer.agency_account_id, customer.agency_account_id)
    return f"{name} (access removed)" if customer.id in removed else name


def _deactivate(args: argparse.Namespace) -> int:
    with cli_control() as control:
        customer = customers.deactivate_customer(control.engine, args.customer)
    print(f"deactivated {customer.name} ({customer.id}); its data and tokens are kept")
    return 0
