"""The ``allegro-ads`` command: a thin layer over the same functions the portal calls.

Each sub-command lives in ``allegro_ads/commands/<name>.py`` with a ``register(subparsers)``
function that adds its parser and sets ``func`` (taking the parsed args, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from settings.config import ConfigError

# Order here is the order in ``--help``.
COMMAND_MODULES = [
    "demo",
    "ui",
    "simulator",
    "serve",
    "db",
    "agency",
    "customers",
    "links",
    "tokens",
    "users",
    "portfolios",
    "keys",
    "export",
    "doctor",
]


class CommandError(Exception):
    """A command could not do what was asked; the message says what to do instead."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a wrong argument prints one line (and exits 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="allegro-ads",
        description="Allegro Ads Manager: consent links, tokens, statistics warehouse, portal.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineArgumentParser
    )
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"allegro_ads.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:
        # The reader of our output (`| head`) has gone: stop quietly, as shell tools do, with
        # the status a shell gives a command ended by SIGPIPE. Later writes go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        sys.stdout.flush()  # --help: a closed pipe shows here, not at interpreter exit
        raise
    try:
        code: int = args.func(args)
    except (CommandError, ConfigError) as exc:
        print(f"allegro-ads {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
