"""``allegro-ads ui``: the Dagster UI and daemon over the local instance in the data folder."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from allegro_ads.commands.arguments import port_number


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ui", help="open the Dagster UI (and daemon) on the local instance under the data folder"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=3000, help="port (default 3000)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from allegro_ads.dagster_home import ensure_dagster_home
    from settings.config import load_settings

    settings = load_settings()
    home = ensure_dagster_home(settings.data_dir)
    workspace = Path(__file__).resolve().parents[2] / "workspace.yaml"
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    print(f"DAGSTER_HOME={home}; open http://{args.host}:{args.port}", flush=True)
    command = [dagster, "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)]
    os.execv(dagster, command)  # noqa: S606 - replaces this process with Dagster's own CLI
