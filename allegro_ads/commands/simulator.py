"""``allegro-ads simulator``: serve the local Allegro stand-in (OAuth, agency and seller REST
API, /_sim/ controls) until Ctrl-C. docs/simulator.md describes what it reproduces."""

from __future__ import annotations

import argparse
from typing import Any

from allegro_ads.cli import CommandError
from allegro_ads.commands.arguments import (
    iso_date,
    non_negative_int,
    port_number,
    positive_int,
)
from allegro_ads.commands.checkout import SIMULATOR_MISSING, is_missing_simulator

DESCRIPTION = (
    "A simulated Allegro on one port, following docs/simulator.md: /auth/oauth/* (login and "
    "consent page, 10-second single-use codes, Basic or PKCE public-client exchange, refresh "
    "rotation with a 60-second grace, device flow), the REST API for agency accounts "
    "(/advertising-agencies/clients and .../{clientId}/statistics) and for sellers (/me, "
    "/sale/offers), the non-public /ads/... refused, the 9,000/min per-application limit, and "
    "/_sim/* controls (accounts, truth, faults, clock). Agency accounts log in as agency "
    "(agency2, ... with --agencies); sellers as seller01, seller02, ...; seller N is a client "
    "of agency N mod --agencies. Every account's password is --password."
)


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
        help="serve a local Allegro stand-in (OAuth, consent page, agency + seller API)",
        description=DESCRIPTION,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=8765, help="port (default 8765)")
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="data seed (default 42)")
    parser.add_argument(
        "--users", type=positive_int, default=_DEFAULTS.users, help="simulated sellers"
    )
    parser.add_argument(
        "--agencies",
        type=positive_int,
        default=_DEFAULTS.agencies,
        help="agency accounts: agency, agency2, ... (default 1)",
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
        "--password",
        default=_DEFAULTS.password,
        help=f"every simulated account's password (default {_DEFAULTS.password})",
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
        "--refresh-grace",
        type=non_negative_int,
        default=_DEFAULTS.refresh_grace_seconds,
        metavar="SECONDS",
        help="how long a used refresh token keeps working (default 60)",
    )
    parser.add_argument(
        "--code-ttl",
        type=positive_int,
        default=_DEFAULTS.code_ttl_seconds,
        metavar="SECONDS",
        help="authorization code lifetime (default 10)",
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
        help="requests per application per minute before a one-minute block (default 9000)",
    )
    parser.add_argument(
        "--send-retry-after",
        action="store_true",
        help="send Retry-After with the rate limit's 429 (Allegro's is undocumented: off)",
    )
    parser.add_argument(
        "--clients-paging",
        action="store_true",
        help="page the agency client list with limit/offset, count/totalCount (off: one list)",
    )
    parser.add_argument(
        "--non-public-status",
        type=int,
        choices=(401, 403),
        default=_DEFAULTS.non_public_status,
        help="what /ads/... answers a non-whitelisted app (default 401)",
    )
    parser.add_argument(
        "--today", type=iso_date, default=None, help="pretend today is this date (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--state-file",
        metavar="PATH",
        default=None,
        help="keep consents, tokens, device grants and the clock in this file, so a restarted "
        "simulator accepts the tokens it issued",
    )
    parser.add_argument("--log-requests", action="store_true", help="print one line per request")
    parser.set_defaults(func=run)


def _unavailable(args: argparse.Namespace) -> int:
    raise CommandError(SIMULATOR_MISSING)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    from simulator.entities import agency_login
    from simulator.persistence import StateFileError
    from simulator.server import build_server
    from simulator.state import SimulatorConfig

    config = SimulatorConfig(
        seed=args.seed,
        users=args.users,
        agencies=args.agencies,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=tuple(args.redirect_uris or SimulatorConfig().redirect_uris),
        password=args.password,
        access_ttl_seconds=args.access_ttl,
        refresh_ttl_seconds=args.refresh_ttl,
        refresh_grace_seconds=args.refresh_grace,
        code_ttl_seconds=args.code_ttl,
        max_range_days=args.max_range_days,
        revision_days=args.revision_days,
        rate_limit_per_minute=args.rate_limit,
        send_retry_after=args.send_retry_after,
        clients_paging=args.clients_paging,
        non_public_status=args.non_public_status,
        today=args.today,
        state_file=args.state_file,
    )
    try:
        server = build_server(config, args.host, args.port, quiet=not args.log_requests)
    except StateFileError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); choose another --port"
        ) from None
    agencies = ", ".join(agency_login(i) for i in range(config.agencies))
    print(
        f"Allegro simulator on http://{args.host}:{server.port} "
        f"(client id {config.client_id}; agency accounts {agencies}; sellers seller01..; "
        f"password {config.password}; Ctrl-C to stop)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
