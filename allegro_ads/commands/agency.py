"""``allegro-ads agency``: the agency's own Allegro accounts and their clients.

``connect`` authorises an agency account by Allegro's device flow (a code to confirm on
Allegro's page, from any browser); ``list`` shows each connection and the customers it carries;
``clients`` shows each account's clients; ``adopt`` and ``link`` tie a client to a customer,
``unlink`` undoes a link.
"""

from __future__ import annotations

import argparse
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.commands.arguments import parse_duration
from allegro_ads.console import cli_control, format_table, format_time
from allegro_resource.errors import AllegroError
from control_store import agency_accounts, agency_clients, customers
from control_store.agency_clients import AgencyClient
from control_store.api_call_log import ControlStoreCallLog
from services.agency_connect import (
    connection_client,
    finish_device_connect,
    record_clients_now,
    start_device_connect,
)
from services.agency_status import agency_connections
from services.clients import oauth_client
from services.control import Control


def timeout_argument(text: str) -> timedelta:
    """argparse type for ``--timeout``: a wrong value exits 2 with one line."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "agency", help="connect agency accounts; list, adopt and link their clients"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    connect = actions.add_parser(
        "connect", help="authorise an agency account on Allegro (prints a code to confirm)"
    )
    connect.add_argument(
        "name",
        metavar="NAME",
        nargs="?",
        help="agency account id or name (new names are created; default: the only one, "
        "or ALLEGRO_ADS_AGENCY_NAME when there is none)",
    )
    connect.add_argument(
        "--timeout",
        type=timeout_argument,
        metavar="DURATION",
        help="stop waiting for the confirmation after this long, e.g. 10m "
        "(default: until the code expires)",
    )
    connect.set_defaults(func=_connect)

    listing = actions.add_parser(
        "list", help="agency accounts, their connection and the customers each carries"
    )
    listing.set_defaults(func=_list)

    clients = actions.add_parser("clients", help="an agency account's clients (or every one's)")
    clients.add_argument("agency", metavar="AGENCY", nargs="?", help="agency account id or name")
    clients.set_defaults(func=_clients)

    adopt = actions.add_parser("adopt", help="create a customer from a client")
    adopt.add_argument("client_id", metavar="CLIENT_ID")
    adopt.add_argument("--name", help="the customer's name (default: the client's)")
    adopt.add_argument("--portfolio", metavar="P", help="portfolio id or name")
    adopt.add_argument("--currency", default="PLN", help="marketplace currency (default PLN)")
    adopt.add_argument("--agency", metavar="AGENCY", help="when two agency accounts list it")
    adopt.set_defaults(func=_adopt)

    link = actions.add_parser("link", help="link a client to an existing customer")
    link.add_argument("client_id", metavar="CLIENT_ID")
    link.add_argument("customer", metavar="CUSTOMER", help="customer id or name")
    link.add_argument("--agency", metavar="AGENCY", help="when two agency accounts list it")
    link.set_defaults(func=_link)

    unlink = actions.add_parser("unlink", help="remove a customer's link to its client")
    unlink.add_argument("customer", metavar="CUSTOMER", help="customer id or name")
    unlink.set_defaults(func=_unlink)


# --- connect ------------------------------------------------------------------------------


def _connect(args: argparse.Namespace) -> int:
    with (
        cli_control() as control,
        ControlStoreCallLog(control.engine) as call_log,
        closing(oauth_client(control.settings, call_log)) as oauth,
        connection_client(control, oauth, call_log) as api,
    ):
        name = args.name or _default_account(control)
        pending = start_device_connect(control, oauth, name)
        created = " (new)" if pending.created else ""
        # Flushed line by line: whoever runs this (or a script reading its output) needs the
        # code now, while the command waits.
        _say(f"connecting agency account {pending.account.name}{created}")
        _say(f"open {pending.verification_uri} and enter the code {pending.user_code}")
        if pending.verification_uri_complete:
            _say(f"(or open {pending.verification_uri_complete})")
        _say(
            "sign in with the agency's Allegro account and approve; waiting until "
            f"{format_time(pending.expires_at)}…"
        )
        account = finish_device_connect(control, oauth, api, pending, timeout=args.timeout)
        _say(f"connected agency account {account.name} as Allegro account {account.allegro_login}")
        try:
            listed = record_clients_now(control, api, account.id)
        except AllegroError as exc:
            raise CommandError(f"connected, but its clients could not be listed: {exc}") from None
        waiting = agency_clients.unadopted_clients(control.engine, account.id)
        _say(
            f"{len(listed.new) + len(listed.returned)} new client(s) listed, "
            f"{len(waiting)} waiting for adoption, {len(listed.linked)} earlier customer(s) "
            f"linked; next: allegro-ads agency clients {_arg(account.name)}"
        )
    return 0


def _default_account(control: Control) -> str:
    """The only agency account, or a new one named after the agency when there is none."""
    accounts = agency_accounts.list_agency_accounts(control.engine, active_only=True)
    if not accounts:
        return control.settings.agency_name
    if len(accounts) == 1:
        return accounts[0].id
    names = ", ".join(a.name for a in accounts)
    raise CommandError(f"there are several agency accounts ({names}); name the one to connect")


def _say(line: str) -> None:
    print(line, flush=True)


def _arg(text: str) -> str:
    return text if text.replace("-", "").replace("_", "").isalnum() else f'"{text}"'


# --- list -----------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    with cli_control() as control:
        found = agency_connections(
            control.engine, control.tokens, datetime.now(UTC), control.settings.expiring_days
        )
        listed = {
            c.account.id: agency_clients.clients_of(
                control.engine, c.account.id, include_removed=False
            )
            for c in found
        }
    if not found:
        print("no agency accounts yet: allegro-ads agency connect")
        return 0
    rows = [
        (
            c.account.id,
            c.account.name,
            c.account.allegro_login,
            c.status,
            len(listed[c.account.id]),
            len(c.customers),
            format_time(c.info.last_refresh_at) if c.info else None,
            ((c.info.last_error or "")[:60] or None) if c.info else None,
        )
        for c in found
    ]
    headers = (
        "ID",
        "NAME",
        "ALLEGRO LOGIN",
        "STATUS",
        "CLIENTS",
        "CUSTOMERS",
        "LAST REFRESH",
        "LAST ERROR",
    )
    print(format_table(headers, rows))
    for c in found:
        if c.broken or c.expiring:
            what = "will stop" if c.expiring else "stops"
            print(
                f"agency account {c.account.name} is {c.status}: it {what} {c.stops()}; "
                f"fix: allegro-ads agency connect {_arg(c.account.name)}"
            )
    return 0


# --- clients, adopt, link -------------------------------------------------------------------


def _clients(args: argparse.Namespace) -> int:
    with cli_control() as control:
        if args.agency:
            accounts = [agency_accounts.find_agency_account(control.engine, args.agency)]
        else:
            accounts = agency_accounts.list_agency_accounts(control.engine)
        names = {c.id: c.name for c in customers.list_customers(control.engine)}
        rows = [
            (
                account.name,
                client.client_id,
                client.name,
                _client_state(client),
                names.get(client.customer_id or "", client.customer_id),
                format_time(client.last_seen_at),
            )
            for account in accounts
            for client in agency_clients.clients_of(control.engine, account.id)
        ]
    if not rows:
        print(
            "no clients listed yet: connect an agency account (allegro-ads agency connect); "
            "the daily client listing adds its clients"
        )
        return 0
    headers = ("AGENCY", "CLIENT ID", "NAME", "STATE", "CUSTOMER", "LAST SEEN")
    print(format_table(headers, rows))
    return 0


def _client_state(client: AgencyClient) -> str:
    if client.removed:
        return "removed"
    return "adopted" if client.customer_id else "unadopted"


def _adopt(args: argparse.Namespace) -> int:
    with cli_control() as control:
        client = _find_client(control, args.client_id, args.agency)
        customer = agency_clients.adopt_client(
            control.engine,
            client.agency_account_id,
            client.client_id,
            name=args.name,
            portfolio=args.portfolio,
            currency=args.currency,
        )
    print(
        f"adopted client {client.name} ({client.client_id}) as customer {customer.name} "
        f"({customer.id})"
    )
    print(f"next (offer names in reports): allegro-ads links create {customer.id}")
    return 0


def _link(args: argparse.Namespace) -> int:
    with cli_control() as control:
        client = _find_client(control, args.client_id, args.agency)
        customer = agency_clients.link_customer(
            control.engine, client.agency_account_id, client.client_id, args.customer
        )
    print(
        f"linked customer {customer.name} ({customer.id}) to client {client.name} "
        f"({client.client_id})"
    )
    return 0


def _unlink(args: argparse.Namespace) -> int:
    with cli_control() as control:
        before = customers.find_customer(control.engine, args.customer)
        if before.agency_account_id is None:
            raise CommandError(f"customer {before.name} is linked to no agency client")
        customer = agency_clients.unlink_customer(control.engine, before.id)
    print(
        f"unlinked customer {customer.name} from client {before.ads_client_id}; its statistics "
        "stop until it is linked again"
    )
    return 0


def _find_client(control: Control, client_id: str, agency: str | None) -> AgencyClient:
    """The listed client with this id, in the named agency account or the only one listing it."""
    if agency:
        accounts = [agency_accounts.find_agency_account(control.engine, agency)]
    else:
        accounts = agency_accounts.list_agency_accounts(control.engine)
    found = [
        client
        for account in accounts
        for client in agency_clients.clients_of(control.engine, account.id)
        if client.client_id == client_id.strip()
    ]
    if not found:
        where = f"agency account {accounts[0].name}" if agency else "any agency account"
        raise CommandError(
            f"no client {client_id!r} listed for {where}; see: allegro-ads agency clients"
        )
    if len(found) > 1:
        raise CommandError(
            f"client {client_id} is listed by several agency accounts; add --agency NAME"
        )
    return found[0]
