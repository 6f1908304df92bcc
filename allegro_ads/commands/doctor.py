"""``allegro-ads doctor``: check configuration, stores, keys, Allegro, tokens; say what to fix."""

from __future__ import annotations

import argparse
from typing import Any

from allegro_ads.doctor import ALLEGRO_TIMEOUT_SECONDS, format_findings, run_checks


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check this installation and say what to fix (exit 1 if anything fails)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=ALLEGRO_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for Allegro to answer (default {ALLEGRO_TIMEOUT_SECONDS:g})",
    )
    parser.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    findings = run_checks(allegro_timeout=args.timeout)
    print(format_findings(findings))
    return 0 if all(f.ok for f in findings) else 1
