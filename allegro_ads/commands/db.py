"""``allegro-ads db``: create or upgrade the control store's schema."""

from __future__ import annotations

import argparse
from typing import Any

from allegro_ads.console import cli_control
from control_store.database import current_revision, display_url, head_revision, upgrade


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="create or upgrade the control store's schema")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    up = actions.add_parser("upgrade", help="bring the schema to this version (idempotent)")
    up.set_defaults(func=_upgrade)
    status = actions.add_parser("status", help="show the schema version and the one needed")
    status.set_defaults(func=_status)


def _upgrade(args: argparse.Namespace) -> int:
    with cli_control(check_schema=False) as control:
        before, after = upgrade(control.engine)
        where = display_url(control.settings.resolved_control_url)
    if before == after:
        print(f"control store {where} is already at schema {after}")
    else:
        print(f"control store {where} upgraded from {before or 'empty'} to schema {after}")
    return 0


def _status(args: argparse.Namespace) -> int:
    with cli_control(check_schema=False) as control:
        current = current_revision(control.engine)
        where = display_url(control.settings.resolved_control_url)
    needed = head_revision()
    state = "current" if current == needed else "out of date: run `allegro-ads db upgrade`"
    print(f"control store {where}: schema {current or 'empty'}, code needs {needed} ({state})")
    return 0
