"""``allegro-ads demo``: the whole product end to end against the bundled simulator."""

from __future__ import annotations

import argparse
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.commands.arguments import positive_int
from allegro_ads.commands.checkout import SIMULATOR_MISSING, is_missing_simulator


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole product end to end against the bundled Allegro simulator"
    )
    parser.add_argument("--days", type=positive_int, default=90, help="days to load (default 90)")
    parser.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from settings.config import load_settings

    try:
        from allegro_ads.demo import run_demo
    except ModuleNotFoundError as exc:
        if not is_missing_simulator(exc):
            raise
        raise CommandError(SIMULATOR_MISSING) from None

    return run_demo(load_settings(), days=args.days, seed=args.seed)
