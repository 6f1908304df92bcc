"""``allegro-ads keys``: Fernet keys that encrypt every connection's tokens (agency and sales
accounts); rotation."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cryptography.fernet import Fernet

from allegro_ads.console import cli_control
from control_store.token_store import rotate_keys


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("keys", help="generate and rotate token-encryption keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    generate = actions.add_parser("generate", help="print a new key (put it first in the list)")
    generate.set_defaults(func=_generate)
    rotate = actions.add_parser(
        "rotate", help="re-encrypt every token with the first key of ALLEGRO_ADS_TOKEN_KEYS"
    )
    rotate.set_defaults(func=_rotate)


def _generate(args: argparse.Namespace) -> int:
    print(Fernet.generate_key().decode())
    print(
        "put it first in ALLEGRO_ADS_TOKEN_KEYS (comma-separated, newest first), restart, then "
        "run: allegro-ads keys rotate",
        file=sys.stderr,
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    with cli_control() as control:
        count = rotate_keys(control.engine, control.settings.fernet_keys)
    print(
        f"re-encrypted the tokens of {count} connection(s) (agency and sales accounts) "
        "with the first key"
    )
    print("older keys can now be removed from ALLEGRO_ADS_TOKEN_KEYS")
    return 0
