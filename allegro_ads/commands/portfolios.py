"""``allegro-ads portfolios``: group customers and decide which viewer sees which."""

from __future__ import annotations

import argparse
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.console import cli_control, format_table
from control_store import customers, portfolios


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("portfolios", help="group customers; grant viewers access")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    add = actions.add_parser("add", help="create a portfolio")
    add.add_argument("name", metavar="NAME")
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="every portfolio")
    listing.set_defaults(func=_list)

    grant = actions.add_parser("grant", help="let a viewer see a portfolio's customers")
    grant.add_argument("email", metavar="EMAIL")
    grant.add_argument("portfolio", metavar="PORTFOLIO")
    grant.set_defaults(func=_grant)

    revoke = actions.add_parser("revoke", help="stop a viewer seeing a portfolio")
    revoke.add_argument("email", metavar="EMAIL")
    revoke.add_argument("portfolio", metavar="PORTFOLIO")
    revoke.set_defaults(func=_revoke)

    alerts = actions.add_parser(
        "alert-email", help="also send alerts about a portfolio's customers to this address"
    )
    alerts.add_argument("portfolio", metavar="PORTFOLIO")
    alerts.add_argument("email", metavar="EMAIL", nargs="?", help="the address (shown if none)")
    alerts.add_argument("--clear", action="store_true", help="send them to staff only")
    alerts.set_defaults(func=_alert_email)

    assign = actions.add_parser("assign", help="put a customer in a portfolio")
    assign.add_argument("customer", metavar="CUSTOMER")
    assign.add_argument("portfolio", metavar="PORTFOLIO")
    assign.set_defaults(func=_assign)


def _add(args: argparse.Namespace) -> int:
    with cli_control() as control:
        portfolio = portfolios.create_portfolio(control.engine, args.name)
    print(f"added portfolio {portfolio.name} ({portfolio.id})")
    return 0


def _list(args: argparse.Namespace) -> int:
    with cli_control() as control:
        found = portfolios.list_portfolios(control.engine)
    rows = [(p.id, p.name, p.alert_email or "-") for p in found]
    print(format_table(("ID", "NAME", "ALERTS ALSO TO"), rows) if rows else "no portfolios yet")
    return 0


def _alert_email(args: argparse.Namespace) -> int:
    if args.clear and args.email:
        raise CommandError("give an EMAIL or --clear, not both")
    with cli_control() as control:
        if args.email or args.clear:
            portfolios.set_alert_email(
                control.engine, args.portfolio, None if args.clear else args.email
            )
        found = [
            p
            for p in portfolios.list_portfolios(control.engine)
            if args.portfolio in (p.id, p.name)
        ]
    if not found:
        raise CommandError(
            f"no portfolio {args.portfolio!r}; list them with: allegro-ads portfolios list"
        )
    portfolio = found[0]
    also = portfolio.alert_email or "nobody (staff only)"
    print(f"portfolio {portfolio.name}: alerts also to {also}")
    return 0


def _grant(args: argparse.Namespace) -> int:
    with cli_control() as control:
        changed = portfolios.grant(control.engine, args.email, args.portfolio)
    print(f"{args.email} {'now sees' if changed else 'already saw'} portfolio {args.portfolio}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with cli_control() as control:
        changed = portfolios.revoke(control.engine, args.email, args.portfolio)
    print(
        f"{args.email} {'no longer sees' if changed else 'did not see'} portfolio {args.portfolio}"
    )
    return 0


def _assign(args: argparse.Namespace) -> int:
    with cli_control() as control:
        customer = customers.assign_portfolio(control.engine, args.customer, args.portfolio)
    print(f"customer {customer.name} ({customer.id}) is in portfolio {customer.portfolio_name}")
    return 0
