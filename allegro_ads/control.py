"""The onboarding service layer the CLI and the web app both call.

``open_control()`` gives an engine on an up-to-date control store and the token store;
``issue_link`` / ``begin_consent`` / ``finish_consent`` are the consent flow end to end.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from allegro_ads.link_signing import InvalidLinkToken, link_url, verify_link_token
from allegro_ads.settings import Settings, load_settings
from allegro_resource.ads_client import AllegroAdsClient
from allegro_resource.calllog import CallLogSink
from allegro_resource.errors import AllegroError
from allegro_resource.models import AdsClient
from allegro_resource.oauth import OAuthClient, new_pkce
from allegro_resource.static_tokens import StaticTokenProvider
from allegro_resource.token_manager import TokenManager
from warehouse import auth_links, customers
from warehouse.auth_links import AuthLink
from warehouse.control_db import (
    ControlStoreError,
    check_schema_current,
    display_url,
    make_engine,
)
from warehouse.customers import Customer
from warehouse.token_store import TokenStore

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_LINK_TTL = timedelta(days=30)


@dataclass
class Control:
    """An open control store: settings, engine, token store. ``close()`` when done."""

    settings: Settings
    engine: Engine
    _closed: bool = field(default=False, repr=False)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(
            self.engine,
            self.settings.fernet_keys,
            refresh_token_days=self.settings.refresh_token_days,
        )

    def close(self) -> None:
        if not self._closed:
            self.engine.dispose()
            self._closed = True

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_control(settings: Settings | None = None, *, check_schema: bool = True) -> Control:
    """Open the configured control store; refuses (``SchemaOutOfDate``) an out-of-date schema."""
    settings = settings or load_settings()
    engine = make_engine(settings.resolved_control_url)
    if check_schema:
        try:
            check_schema_current(engine)
        except Exception:
            engine.dispose()
            raise
    return Control(settings, engine)


def parse_duration(text: str) -> timedelta:
    """``30m``, ``72h``, ``7d``, ``2w``, ``90s`` → timedelta; anything else is a ValueError."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 72h or 7d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return timedelta(seconds=seconds)


def operator_name() -> str:
    """Who is running the CLI, for ``created_by`` columns."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    link: AuthLink
    url: str


def issue_link(
    control: Control,
    customer: str,
    *,
    ttl: timedelta | None = None,
    created_by: str | None = None,
) -> IssuedLink:
    """A new consent link for the customer (id or name) and the URL to send them."""
    ttl = ttl or timedelta(hours=control.settings.link_ttl_hours)
    if ttl > MAX_LINK_TTL:
        raise ValueError(f"a link may live at most {MAX_LINK_TTL.days} days")
    found = customers.find_customer(control.engine, customer)
    link = auth_links.create_link(control.engine, found.id, ttl=ttl, created_by=created_by)
    return IssuedLink(link, url_for_link(control, link.id))


def url_for_link(control: Control, link_id: str) -> str:
    return link_url(control.settings.public_url, control.settings.signing_secret, link_id)


def oauth_client(
    settings: Settings,
    call_log: CallLogSink | None = None,
    clock: Callable[[], datetime] | None = None,
) -> OAuthClient:
    """The application's OAuth client as configured (``clock``: where time is simulated)."""
    return OAuthClient(
        settings.auth_url,
        settings.client_id,
        settings.client_secret,
        settings.redirect_uri,
        timeout=settings.http_timeout_seconds,
        call_log=call_log,
        clock=clock,
    )


def token_manager(control: Control, oauth: OAuthClient | None = None) -> TokenManager:
    """The persistent ``TokenProvider`` over this control store."""
    return TokenManager(
        control.tokens,
        oauth or oauth_client(control.settings),
        refresh_margin_seconds=control.settings.refresh_margin_seconds,
    )


# --- the consent flow (the web app's /authorize/<token> and /oauth/callback) ---


def begin_consent(control: Control, oauth: OAuthClient, signed_token: str) -> str:
    """Check the signed link and return the Allegro URL to redirect the browser to.

    Raises ``link_signing.InvalidLinkToken`` (forged/malformed) or ``auth_links.LinkUnusable``.
    """
    link_id = verify_link_token(control.settings.signing_secret, signed_token)
    auth_links.purge_oauth_states(control.engine)  # abandoned sign-ins; cheap
    pkce = new_pkce()
    state = auth_links.create_oauth_state(
        control.engine, control.tokens.cipher, link_id, pkce.verifier
    )
    return oauth.authorization_url(state, pkce.challenge)


def finish_consent(control: Control, oauth: OAuthClient, *, state: str, code: str) -> Customer:
    """Complete a consent: use the state once, exchange the code, bind the account, store tokens.

    Raises ``auth_links.StateUnusable``, ``auth_links.LinkUnusable``, ``InvalidGrant`` (code
    refused) or ``control_db.Conflict`` (account already connected to another customer).
    """
    consumed = auth_links.consume_oauth_state(control.engine, control.tokens.cipher, state)
    auth_links.require_usable(control.engine, consumed.link_id)
    tokens = oauth.exchange_code(code, consumed.code_verifier, customer_id=consumed.customer_id)
    provider = StaticTokenProvider(oauth, {consumed.customer_id: tokens})
    settings = control.settings
    with AllegroAdsClient(settings.api_url, provider, timeout=settings.http_timeout_seconds) as api:
        me = api.me(consumed.customer_id)
        ads_client = _the_ads_client(api.list_clients(consumed.customer_id), me.login)
    control.tokens.save_consent(
        consumed.customer_id,
        provider.token_set(consumed.customer_id),  # /me may have refreshed it
        allegro_login=me.login,
        allegro_user_id=me.id,
        ads_client_id=ads_client.id,
        link_id=consumed.link_id,
    )
    found = customers.get_customer(control.engine, consumed.customer_id)
    assert found is not None  # the link's foreign key guarantees it
    return found


class NoAdsClient(AllegroError):
    """The consenting account has no single Allegro Ads client the agency can report on."""


def _the_ads_client(clients: Sequence[AdsClient], login: str) -> AdsClient:
    """A seller's token sees exactly its own Ads client; anything else cannot be reported."""
    active = [c for c in clients if c.status == "ACTIVE"] or list(clients)
    if len(active) != 1:
        raise NoAdsClient(
            f"Allegro account {login} has {len(active)} Allegro Ads clients visible to the "
            "agency (expected one); check the account's Ads Partner link in Allegro Ads"
        )
    return active[0]


# --- command-line glue ---------------------------------------------------------


@contextmanager
def cli_control(*, check_schema: bool = True) -> Iterator[Control]:
    """``open_control`` for a command: expected failures become one-line ``CommandError``s."""
    from allegro_ads.cli import CommandError

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
