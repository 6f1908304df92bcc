"""``allegro-ads simulator``: serve the local Allegro stand-in (OAuth + Ads API) until Ctrl-C."""

from __future__ import annotations

import argparse
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.commands.arguments import iso_date, port_number, positive_int
from allegro_ads.commands.checkout import SIMULATOR_MISSING, is_missing_simulator


def register(subparsers: Any) -> None:
    """Add the ``simulator`` sub-command (a stub that explains, where the simulator is absent)."""
    try:
        from simulator.state import SimulatorConfig
    except ModuleNotFoundError as exc:
        if not is_missing_simulator(exc):
            raise
        unavailable = subparsers.add_parser("simulator", help="(source checkout only)")
        unavailable.set_defaults(func=_unavailable)
        return
    _DEFAULTS = SimulatorConfig()
    parser = subparsers.add_parser(
        "simulator",
        help="serve a local Allegro stand-in (OAuth, consent page, Ads API) for development",
        description="A simulated Allegro on one port: /auth/oauth/* (consent page, tokens), "
        "/me and /ads/* (the REST API), /_sim/* (simulator controls). Sellers log in as "
        "seller01, seller02, ...; the login 'agency' sees every seller's ads client.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=8765, help="port (default 8765)")
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="data seed (default 42)")
    parser.add_argument(
        "--users", type=positive_int, default=_DEFAULTS.users, help="simulated sellers"
    )
    parser.add_argument("--client-id", default=_DEFAULTS.client_id, help="registered app id")
    parser.add_argument(
        "--client-secret", default=_DEFAULTS.client_secret, help="registered app secret"
    )
    parser.add_argument(
        "--redirect-uri",
        dest="redirect_uris",
        action="append",
        metavar="URI",
        help=f"registered redirect URI, repeatable (default {_DEFAULTS.redirect_uris[0]})",
    )
    parser.add_argument(
        "--access-ttl",
        type=positive_int,
        default=_DEFAULTS.access_ttl_seconds,
        metavar="SECONDS",
        help="access token lifetime (default 43199)",
    )
    parser.add_argument(
        "--refresh-ttl",
        type=positive_int,
        default=_DEFAULTS.refresh_ttl_seconds,
        metavar="SECONDS",
        help="refresh token lifetime (default 90 days)",
    )
    parser.add_argument(
        "--max-range-days",
        type=positive_int,
        default=_DEFAULTS.max_range_days,
        metavar="DAYS",
        help="longest statistics range per request (default 31)",
    )
    parser.add_argument(
        "--revision-days",
        type=positive_int,
        default=_DEFAULTS.revision_days,
        metavar="DAYS",
        help="recent days whose attributed figures are still revised (default 14)",
    )
    parser.add_argument(
        "--rate-limit",
        type=positive_int,
        default=_DEFAULTS.rate_limit_per_minute,
        metavar="PER_MINUTE",
        help="requests per application per minute before 429",
    )
    parser.add_argument(
        "--today", type=iso_date, default=None, help="pretend today is this date (YYYY-MM-DD)"
    )
    parser.add_argument("--log-requests", action="store_true", help="print one line per request")
    parser.set_defaults(func=run)


def _unavailable(args: argparse.Namespace) -> int:
    raise CommandError(SIMULATOR_MISSING)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    from simulator.server import build_server
    from simulator.state import SimulatorConfig

    config = SimulatorConfig(
        seed=args.seed,
        users=args.users,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=tuple(args.redirect_uris or SimulatorConfig().redirect_uris),
        access_ttl_seconds=args.access_ttl,
        refresh_ttl_seconds=args.refresh_ttl,
        max_range_days=args.max_range_days,
        revision_days=args.revision_days,
        rate_limit_per_minute=args.rate_limit,
        today=args.today,
    )
    try:
        server = build_server(config, args.host, args.port, quiet=not args.log_requests)
    except OSError as exc:
        raise CommandError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); choose another --port"
        ) from None
    print(
        f"Allegro simulator on http://{args.host}:{server.port} "
        f"(client id {config.client_id}; sellers seller01..; login 'agency' sees all; "
        "Ctrl-C to stop)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
