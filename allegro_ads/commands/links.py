"""``allegro-ads links``: consent links for customers (signed, expiring, single-use)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.commands.arguments import parse_duration
from allegro_ads.console import cli_control, format_table, format_time, operator_name
from control_store import auth_links, customers
from services.link_mail import send_link
from services.links import MAX_LINK_TTL, issue_link
from services.mail import MailError, require_mailer


def ttl_argument(text: str) -> timedelta:
    """argparse type for ``--ttl``: a wrong value exits 2 with one line."""
    try:
        ttl = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if ttl > MAX_LINK_TTL:
        raise argparse.ArgumentTypeError(f"a link may live at most {MAX_LINK_TTL.days}d")
    return ttl


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("links", help="create, list and revoke consent links")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    create = actions.add_parser("create", help="a new link to send to the customer")
    create.add_argument("customer", metavar="CUSTOMER", help="customer id or name")
    create.add_argument(
        "--ttl", type=ttl_argument, metavar="DURATION", help="lifetime, e.g. 30m, 72h, 7d"
    )
    create.set_defaults(func=_create)

    send = actions.add_parser(
        "send", help="e-mail a new link to the customer's contact address (Polish and English)"
    )
    send.add_argument("customer", metavar="CUSTOMER", help="customer id or name")
    send.add_argument(
        "--ttl", type=ttl_argument, metavar="DURATION", help="lifetime, e.g. 30m, 72h, 7d"
    )
    send.set_defaults(func=_send)

    revoke = actions.add_parser("revoke", help="make an unused link unusable")
    revoke.add_argument("link_id", metavar="LINK_ID")
    revoke.set_defaults(func=_revoke)

    listing = actions.add_parser("list", help="links, newest first")
    listing.add_argument("customer", metavar="CUSTOMER", nargs="?", help="customer id or name")
    listing.set_defaults(func=_list)


def _create(args: argparse.Namespace) -> int:
    with cli_control() as control:
        issued = issue_link(control, args.customer, ttl=args.ttl, created_by=operator_name())
    print(issued.url)
    print(f"link {issued.link.id}, single use, valid until {format_time(issued.link.expires_at)}")
    return 0


def _send(args: argparse.Namespace) -> int:
    with cli_control() as control:
        try:
            mailer = require_mailer(control.settings)
            sent = send_link(
                control, mailer, args.customer, ttl=args.ttl, created_by=operator_name()
            )
        except MailError as exc:
            raise CommandError(f"{exc}; no link was left usable") from None
    print(
        f"e-mailed link {sent.issued.link.id} to {sent.to}, single use, valid until "
        f"{format_time(sent.issued.link.expires_at)}"
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with cli_control() as control:
        link = auth_links.revoke_link(control.engine, args.link_id)
    print(f"revoked link {link.id} of customer {link.customer_id}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with cli_control() as control:
        customer_id = None
        if args.customer:
            customer_id = customers.find_customer(control.engine, args.customer).id
        links = auth_links.list_links(control.engine, customer_id)
        names = {c.id: c.name for c in customers.list_customers(control.engine)}
    now = datetime.now(UTC)
    rows = [
        (
            link.id,
            names.get(link.customer_id, link.customer_id),
            link.state(now).value,
            format_time(link.created_at),
            format_time(link.expires_at),
            format_time(link.used_at),
            link.created_by,
        )
        for link in links
    ]
    headers = ("LINK", "CUSTOMER", "STATE", "CREATED", "EXPIRES", "USED", "BY")
    print(format_table(headers, rows) if rows else "no links")
    return 0
