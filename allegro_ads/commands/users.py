"""``allegro-ads users``: staff accounts of the portal (admins and viewers)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from allegro_ads.console import cli_control, format_table, format_time
from control_store import users


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("users", help="portal accounts: add, list, deactivate")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    add = actions.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="every user")
    listing.set_defaults(func=_list)

    deactivate = actions.add_parser("deactivate", help="the user can no longer sign in")
    deactivate.add_argument("email", metavar="EMAIL")
    deactivate.set_defaults(func=_deactivate)


def _read_password(from_stdin: bool) -> str:
    from allegro_ads.cli import CommandError

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("no password on standard input")
        return password
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CommandError("the passwords differ; nothing was saved")
    return first


def _add(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    with cli_control() as control:
        user = users.create_user(control.engine, args.email, password, args.role)
    print(f"added {user.role} {user.email} ({user.id})")
    return 0


def _list(args: argparse.Namespace) -> int:
    with cli_control() as control:
        found = users.list_users(control.engine)
    rows = [
        (u.email, u.role, "yes" if u.active else "no", format_time(u.created_at), u.id)
        for u in found
    ]
    headers = ("EMAIL", "ROLE", "ACTIVE", "CREATED", "ID")
    print(format_table(headers, rows) if rows else "no users yet: allegro-ads users add EMAIL")
    return 0


def _deactivate(args: argparse.Namespace) -> int:
    with cli_control() as control:
        user = users.deactivate_user(control.engine, args.email)
    print(f"deactivated {user.email}")
    return 0
