"""Command-line glue: the control store opened for a command, and plain-text output."""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from allegro_ads.cli import CommandError
from allegro_resource.errors import AllegroError
from control_store.database import ControlStoreError, display_url
from services.control import Control, open_control
from services.link_signing import InvalidLinkToken
from settings.config import load_settings


@contextmanager
def cli_control(*, check_schema: bool = True) -> Iterator[Control]:
    """``open_control`` for a command: expected failures become one-line ``CommandError``s."""
    settings = load_settings()
    try:
        with open_control(settings, check_schema=check_schema) as control:
            yield control
    except (ControlStoreError, AllegroError, InvalidLinkToken, ValueError) as exc:
        raise CommandError(str(exc)) from None
    except OperationalError as exc:
        where = display_url(settings.resolved_control_url)
        raise CommandError(
            f"cannot use the control store at {where} ({type(exc.orig).__name__}); "
            "check ALLEGRO_ADS_CONTROL_URL"
        ) from None


def operator_name() -> str:
    """Who is running the CLI, for ``created_by`` columns."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def format_time(value: datetime | None) -> str:
    """UTC, to the minute; '-' for nothing."""
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain left-aligned text table."""
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)
