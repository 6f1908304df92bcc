"""``allegro-ads serve``: the consent flow and staff portal under waitress."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from waitress import serve

from allegro_ads.commands.arguments import port_number


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the consent links and the staff portal (waitress)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=8000, help="port (default 8000)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    parser.add_argument(
        "--trusted-proxy",
        metavar="ADDRESS",
        help="address of the reverse proxy whose X-Forwarded-For/-Proto to believe "
        "(login throttling counts per client address)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from allegro_ads.console import cli_control
    from authorize_app.app import create_app
    from authorize_app.server import freeze_startup_objects

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with cli_control():  # fails early, in one line, on a missing or out-of-date control store
        pass
    app = create_app()
    print(f"serving on http://{args.host}:{args.port}  (Ctrl-C to stop)", flush=True)
    proxy: dict[str, Any] = {}
    if args.trusted_proxy:
        proxy = {
            "trusted_proxy": args.trusted_proxy,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
            "clear_untrusted_proxy_headers": True,
        }
    freeze_startup_objects()
    serve(app, host=args.host, port=args.port, threads=args.threads, **proxy)
    return 0
