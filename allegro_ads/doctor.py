"""``allegro-ads doctor``: read-only health checks of one installation, each a ``Finding``.

Every check is a plain function returning findings; none prints, writes a store or shows a
secret (URLs are shown with passwords masked, tokens and keys never).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import make_url

from allegro_ads.console import format_table, format_time
from allegro_resource.token_status import TokenStatus
from control_store import agency_accounts, agency_clients, customers
from control_store.account_kind import AccountKind
from control_store.database import (
    SchemaOutOfDate,
    _is_known,
    current_revision,
    display_url,
    head_revision,
    make_engine,
)
from control_store.schema import oauth_tokens
from control_store.token_cipher import TokenCipher, TokenKeyError
from control_store.token_store import TokenStore, token_status
from services.agency_status import agency_connections
from services.mail import Mailer, MailError, mailer_from
from settings.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ConfigError, Settings
from settings.config import load_settings as _load_settings
from warehouse.backends import duckdb_path
from warehouse.stats_schema import SCHEMA_VERSION, SELECT_SCHEMA_VERSION

ALLEGRO_TIMEOUT_SECONDS = 5.0
MAIL_TIMEOUT_SECONDS = 5.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")  # noqa: S104 - compared, not bound
# Revoked is staff's own decision and an expiring pair still works: neither is a finding.
_ATTENTION = frozenset({TokenStatus.NEEDS_REAUTH, TokenStatus.EXPIRED})


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome: what was checked, whether it is fine, what was seen, what to do."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def _problem(exc: BaseException) -> str:
    """A one-line description of an error, with any URL password masked."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


# --- configuration -------------------------------------------------------------------------


def check_configuration(
    load: Callable[[], Settings] = _load_settings,
) -> tuple[Settings | None, list[Finding]]:
    """Read the settings; a ``ConfigError`` becomes a finding naming the variable."""
    try:
        settings = load()
    except ConfigError as exc:
        return None, [
            Finding("configuration", False, str(exc), "fix the ALLEGRO_ADS_* variable named")
        ]
    detail = (
        f"{settings.env}; control {display_url(settings.resolved_control_url)}, "
        f"warehouse {_masked(settings.resolved_warehouse_url)}"
    )
    return settings, [Finding("configuration", True, detail)]


def _masked(url: str) -> str:
    """``display_url`` for URLs SQLAlchemy can parse (DuckDB's are shown as they are)."""
    if url.lower().startswith("duckdb:"):
        return url
    try:
        return display_url(url)
    except Exception:
        return "(unparseable URL)"


def check_production(settings: Settings) -> list[Finding]:
    """In production: no demo app, HTTPS public URLs, Allegro not on loopback, real stores."""
    if settings.env != "production":
        return [
            Finding(
                "production settings",
                True,
                "development mode: simulator defaults and generated keys are allowed",
            )
        ]
    problems: list[tuple[str, str]] = []
    if settings.client_id == DEMO_CLIENT_ID or settings.client_secret == DEMO_CLIENT_SECRET:
        problems.append(
            (
                "the simulator's demo application is configured",
                "set ALLEGRO_ADS_CLIENT_ID and ALLEGRO_ADS_CLIENT_SECRET to the agency's app",
            )
        )
    for variable, url in (
        ("ALLEGRO_ADS_PUBLIC_URL", settings.public_url),
        ("ALLEGRO_ADS_REDIRECT_URI", settings.redirect_uri),
        ("ALLEGRO_ADS_AUTH_URL", settings.auth_url),
        ("ALLEGRO_ADS_API_URL", settings.api_url),
    ):
        parts = urlsplit(url)
        if parts.scheme != "https":
            problems.append((f"{variable} is {url} (not https)", f"set {variable} to https://…"))
        elif (parts.hostname or "") in _LOOPBACK:
            problems.append((f"{variable} points at this machine", f"set {variable}"))
    if not settings.redirect_uri.startswith(settings.public_url.rstrip("/") + "/"):
        problems.append(
            (
                "ALLEGRO_ADS_REDIRECT_URI is not under ALLEGRO_ADS_PUBLIC_URL",
                "set ALLEGRO_ADS_REDIRECT_URI to ALLEGRO_ADS_PUBLIC_URL + /oauth/callback",
            )
        )
    if settings.signing_key and len(settings.signing_key) < 32:
        problems.append(
            (
                "ALLEGRO_ADS_SIGNING_KEY is shorter than 32 characters",
                "set ALLEGRO_ADS_SIGNING_KEY to a long random string",
            )
        )
    for variable, url in (
        ("ALLEGRO_ADS_CONTROL_URL", settings.resolved_control_url),
        ("ALLEGRO_ADS_WAREHOUSE_URL", settings.resolved_warehouse_url),
    ):
        if not url.lower().startswith("postgres"):
            problems.append(
                (f"{variable} is a local file", f"set {variable} to postgresql://… (shared)")
            )
    if not problems:
        return [Finding("production settings", True, "production: https, real application")]
    return [Finding("production settings", False, detail, fix) for detail, fix in problems]


# --- stores ----------------------------------------------------------------------------------


def check_control_store(settings: Settings) -> list[Finding]:
    """The control store answers and its schema is the one this code needs."""
    where = display_url(settings.resolved_control_url)
    url = make_url(settings.resolved_control_url)
    database = url.database or ""
    a_file = database not in ("", ":memory:") and not database.startswith("file:")
    if url.get_backend_name() == "sqlite" and a_file and not Path(database).expanduser().exists():
        detail = f"{where}: the file does not exist"
        return [Finding("control store", False, detail, "run `allegro-ads db upgrade`")]
    try:
        engine = make_engine(settings.resolved_control_url)
    except Exception as exc:
        return [Finding("control store", False, f"{where}: {_problem(exc)}", _control_fix())]
    try:
        current = current_revision(engine)
    except Exception as exc:
        return [Finding("control store", False, f"{where}: {_problem(exc)}", _control_fix())]
    finally:
        engine.dispose()
    needed = head_revision()
    if current == needed:
        return [Finding("control store", True, f"{where}, schema {current}")]
    error = SchemaOutOfDate(current, needed, newer=not _is_known(current))
    fix = (
        "install the version of Allegro Ads Manager that upgraded it"
        if error.newer
        else "run `allegro-ads db upgrade`"
    )
    detail = f"{where}: schema {current or 'empty'}, this code needs {needed}"
    return [Finding("control store", False, detail, fix)]


def _control_fix() -> str:
    return "check ALLEGRO_ADS_CONTROL_URL and that the database server is running"


def check_warehouse(settings: Settings) -> list[Finding]:
    """The warehouse answers; its schema is current or will be brought forward by the next run."""
    url = settings.resolved_warehouse_url
    where = _masked(url)
    fix = "check ALLEGRO_ADS_WAREHOUSE_URL and that the database server is running"
    try:
        found = _warehouse_version(url)
    except FileNotFoundError:
        return [Finding("warehouse", True, f"{where}: not created yet (the first run creates it)")]
    except Exception as exc:
        return [Finding("warehouse", False, f"{where}: {_problem(exc)}", fix)]
    if found is None:
        return [Finding("warehouse", True, f"{where}: empty (the first run creates the schema)")]
    if found > SCHEMA_VERSION:
        return [
            Finding(
                "warehouse",
                False,
                f"{where}: schema {found} is newer than this code's {SCHEMA_VERSION}",
                "install the version of Allegro Ads Manager that created it",
            )
        ]
    if found < SCHEMA_VERSION:
        return [
            Finding(
                "warehouse",
                True,
                f"{where}: schema {found}, upgraded to {SCHEMA_VERSION} by the next run",
            )
        ]
    return [Finding("warehouse", True, f"{where}, schema {found}")]


def _warehouse_version(url: str) -> int | None:
    """The stored warehouse schema version, read without creating or changing anything."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "duckdb":
        import duckdb

        path = duckdb_path(url)
        if not path.exists():
            raise FileNotFoundError(path)
        with duckdb.connect(str(path), read_only=True) as con:
            return _version_from(lambda sql: con.execute(sql).fetchone())
    if scheme in ("postgresql", "postgresql+psycopg2", "postgres"):
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                return _version_from(lambda sql: conn.exec_driver_sql(sql).fetchone())
        finally:
            engine.dispose()
    raise ValueError(f"unsupported warehouse URL scheme {scheme!r}")


def _version_from(fetch_one: Callable[[str], Sequence[Any] | None]) -> int | None:
    exists = fetch_one(
        "SELECT COUNT(*) FROM information_schema.tables "
        "WHERE table_name = 'warehouse_meta' AND table_schema = current_schema()"
    )
    if not exists or not exists[0]:
        return None
    row = fetch_one(SELECT_SCHEMA_VERSION)
    return int(row[0]) if row else None


# --- secrets ---------------------------------------------------------------------------------


def check_token_keys(settings: Settings) -> list[Finding]:
    """The token keys parse and decrypt every stored token (the stores must be current)."""
    fix = (
        "set ALLEGRO_ADS_TOKEN_KEYS to the key the tokens were encrypted with (keep old keys "
        "after the new one, comma-separated, until `allegro-ads keys rotate` has run)"
    )
    try:
        keys = settings.fernet_keys
        cipher = TokenCipher(keys)
    except (ConfigError, TokenKeyError) as exc:
        return [Finding("token keys", False, str(exc), "set ALLEGRO_ADS_TOKEN_KEYS")]
    engine = make_engine(settings.resolved_control_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    oauth_tokens.c.account_id,
                    oauth_tokens.c.access_token_enc,
                    oauth_tokens.c.refresh_token_enc,
                )
            ).all()
    finally:
        engine.dispose()
    failed: list[str] = []
    checked = 0
    for customer_id, access_enc, refresh_enc in rows:
        if not access_enc and not refresh_enc:
            continue  # revoked: nothing stored
        checked += 1
        try:
            cipher.decrypt(access_enc, customer_id)
            cipher.decrypt(refresh_enc, customer_id)
        except TokenKeyError:
            failed.append(customer_id)
    source = "ALLEGRO_ADS_TOKEN_KEYS" if settings.token_keys else "development keys"
    if failed:
        shown = ", ".join(failed[:5]) + (" …" if len(failed) > 5 else "")
        return [
            Finding(
                "token keys",
                False,
                f"{len(failed)} of {checked} stored tokens do not decrypt with {source} ({shown})",
                fix,
            )
        ]
    what = f"decrypt all {checked} stored tokens" if checked else "no stored tokens yet"
    return [Finding("token keys", True, f"{len(keys)} key(s) from {source}; {what}")]


def check_signing_key(settings: Settings) -> list[Finding]:
    """A link/session signing key is configured (or, in development, generated)."""
    if settings.signing_key:
        return [Finding("signing key", True, "set by ALLEGRO_ADS_SIGNING_KEY")]
    dev_file = settings.data_dir / "dev-secrets.json"
    if settings.env == "production":
        return [
            Finding(
                "signing key",
                False,
                "ALLEGRO_ADS_SIGNING_KEY is not set",
                "set ALLEGRO_ADS_SIGNING_KEY to a long random string",
            )
        ]
    if dev_file.exists():
        return [Finding("signing key", True, f"development key in {dev_file}")]
    return [Finding("signing key", True, f"development key, generated into {dev_file} on use")]


# --- mail ------------------------------------------------------------------------------------


def check_mail(settings: Settings, timeout: float = MAIL_TIMEOUT_SECONDS) -> list[Finding]:
    """Unset: nothing will be sent (said, not failed). Set: the server is reached, secured and
    signed in to as ``send`` would, sending nothing; where alerts go is named."""
    if not settings.mail_enabled:
        return [
            Finding(
                "mail",
                True,
                "not set: no alert, consent-link or report e-mail will be sent"
                + (" (alerts go to the webhook only)" if _webhook_set(settings) else ""),
                "to send them set ALLEGRO_ADS_SMTP_HOST and ALLEGRO_ADS_MAIL_FROM "
                "(docs/deployment.md, Mail)",
            )
        ]
    mailer = mailer_from(settings)
    assert mailer is not None
    config = mailer.config
    try:
        Mailer(replace(config, timeout_seconds=min(timeout, config.timeout_seconds))).check()
    except MailError as exc:
        return [Finding("mail", False, str(exc), "fix the ALLEGRO_ADS_SMTP_* setting named")]
    who = f"signed in as {config.user}" if config.user else "no sign-in"
    findings = [
        Finding(
            "mail",
            True,
            f"{config.host}:{config.port} ({config.security}, {who}) answers; from {config.sender}",
        )
    ]
    staff = settings.alert_recipients
    if staff:
        findings.append(Finding("alerts", True, f"to {', '.join(staff)}" + _webhook_note(settings)))
    else:
        findings.append(
            Finding(
                "alerts",
                False,
                "ALLEGRO_ADS_ALERT_EMAILS is empty: alerts reach only portfolios with an "
                "alert address" + _webhook_note(settings),
                "set ALLEGRO_ADS_ALERT_EMAILS to the staff addresses, comma-separated",
            )
        )
    return findings


def _webhook_set(settings: Settings) -> bool:
    return bool(settings.alert_webhook_url.get_secret_value())


def _webhook_note(settings: Settings) -> str:
    """Where the webhook posts, by host only: the rest of its URL is a credential."""
    if not _webhook_set(settings):
        return ""
    return f" and the webhook at {urlsplit(settings.alert_webhook_url.get_secret_value()).hostname}"


# --- Allegro -----------------------------------------------------------------------------------


def check_allegro(settings: Settings, timeout: float = ALLEGRO_TIMEOUT_SECONDS) -> list[Finding]:
    """GET the auth and API bases: any HTTP answer means reachable."""
    findings = []
    for check, variable, url in (
        ("allegro auth", "ALLEGRO_ADS_AUTH_URL", settings.auth_url),
        ("allegro api", "ALLEGRO_ADS_API_URL", settings.api_url),
    ):
        try:
            response = requests.get(url, timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            findings.append(
                Finding(
                    check,
                    False,
                    f"{url} unreachable ({type(exc).__name__})",
                    f"check {variable}, DNS and outbound HTTPS (proxy, firewall)",
                )
            )
            continue
        seconds = response.elapsed.total_seconds()
        findings.append(
            Finding(check, True, f"{url} answered HTTP {response.status_code} in {seconds:.2f}s")
        )
    return findings


# --- agency accounts, statistics links, sales accounts -------------------------------------


def check_agency_accounts(settings: Settings, now: datetime | None = None) -> list[Finding]:
    """Statistics are read with an agency account's token: none connected means no customer
    loads, and a broken or expiring connection names every customer it stops."""
    now = now or datetime.now(UTC)
    engine = make_engine(settings.resolved_control_url)
    try:
        # list_info never decrypts: any key will do, so broken keys do not hide the statuses.
        store = TokenStore(engine, [Fernet.generate_key().decode()])
        found = [
            c
            for c in agency_connections(engine, store, now, settings.expiring_days)
            if c.account.active
        ]
    finally:
        engine.dispose()
    if not any(c.info is not None for c in found):
        return [
            Finding(
                "agency accounts",
                False,
                "no agency account is connected: no customer's statistics can be read",
                "allegro-ads agency connect",
            )
        ]
    attention = [c for c in found if c.broken or c.expiring]
    counts = Counter(c.status for c in found)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    if not attention:
        return [Finding("agency accounts", True, summary)]
    findings = [
        Finding(
            "agency accounts",
            False,
            summary,
            "connect the agency accounts below again: their customers load no statistics",
        )
    ]
    for c in attention:
        what = "will stop" if c.expiring else "stops"
        refresh_ends = c.info.refresh_expires_at if c.info else None
        when = f" before {format_time(refresh_ends)}" if c.expiring and refresh_ends else ""
        findings.append(
            Finding(
                f"  {c.account.name}",
                False,
                f"{c.account.id}: {c.status}; {what} {c.stops()}",
                f"allegro-ads agency connect {_arg(c.account.name)}{when}",
            )
        )
    return findings


def check_statistics_links(settings: Settings) -> list[Finding]:
    """Every active customer is linked to an agency client still listed; what is missing
    otherwise (customers from before agency accounts are linked by the daily listing)."""
    engine = make_engine(settings.resolved_control_url)
    try:
        store = TokenStore(engine, [Fernet.generate_key().decode()])
        with_sales_token = {info.account_id for info in store.list_info(AccountKind.SALES)}
        active = customers.list_customers(engine, active_only=True)
        removed = {
            client.customer_id
            for account in agency_accounts.list_agency_accounts(engine)
            for client in agency_clients.clients_of(engine, account.id)
            if client.removed and client.customer_id
        }
    finally:
        engine.dispose()
    earlier = [
        c
        for c in active
        if c.agency_account_id is None and c.ads_client_id and c.id in with_sales_token
    ]
    unlinked = [c for c in active if c.agency_account_id is None and c not in earlier]
    access_removed = [c.name for c in active if c.id in removed]
    findings: list[Finding] = []
    if earlier:
        findings.append(
            Finding(
                "statistics links",
                False,
                f"{_count(earlier)} with a seller token and an Allegro Ads client id but no "
                f"agency link: {_names([c.name for c in earlier])}",
                "connect the agency account: allegro-ads agency connect; the daily client "
                "listing links them",
            )
        )
    if unlinked:
        findings.append(
            Finding(
                "statistics links",
                False,
                f"{_count(unlinked)} linked to no agency client: "
                f"{_names([c.name for c in unlinked])}",
                "allegro-ads agency clients, then allegro-ads agency link CLIENT_ID CUSTOMER",
            )
        )
    if access_removed:
        findings.append(
            Finding(
                "statistics links",
                False,
                f"access removed in Allegro Ads for {_count(access_removed)}: "
                f"{_names(access_removed)}",
                "ask the seller to accept the agency's request again",
            )
        )
    if findings:
        return findings
    what = f"all {len(active)} active customers" if active else "no active customers"
    return [Finding("statistics links", True, f"{what} linked to a listed agency client")]


def check_tokens(settings: Settings, now: datetime | None = None) -> list[Finding]:
    """Customers' sales accounts per status (they add offer details; statistics do not need
    them); customers needing a new consent are named with the command."""
    now = now or datetime.now(UTC)
    engine = make_engine(settings.resolved_control_url)
    try:
        # list_info never decrypts: any key will do, so broken keys do not hide the statuses.
        store = TokenStore(engine, [Fernet.generate_key().decode()])
        infos = {info.account_id: info for info in store.list_info(AccountKind.SALES)}
        active = customers.list_customers(engine, active_only=True)
    finally:
        engine.dispose()
    counts: Counter[str] = Counter()
    attention: list[tuple[str, str, str]] = []
    for customer in active:
        info = infos.get(customer.id)
        if info is None:
            counts["not connected"] += 1
            continue
        status = token_status(info, now, settings.expiring_days).value
        counts[status] += 1
        if status in _ATTENTION:
            attention.append((customer.id, customer.name, status))
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no customers"
    if not attention:
        return [Finding("sales accounts", True, summary)]
    findings = [
        Finding(
            "sales accounts",
            False,
            summary,
            "their offer details stop: send the customers below a new consent link",
        )
    ]
    for customer_id, name, status in attention:
        findings.append(
            Finding(
                f"  {name}",
                False,
                f"{customer_id}: {status}",
                f"allegro-ads links send {customer_id} (e-mails it to the contact address; "
                f"links create {customer_id} prints it)",
            )
        )
    return findings


def _count(names: Sequence[object]) -> str:
    return f"{len(names)} customer{'' if len(names) == 1 else 's'}"


def _names(names: Sequence[str]) -> str:
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _arg(text: str) -> str:
    return text if text.replace("-", "").replace("_", "").isalnum() else f'"{text}"'


# --- all of it ----------------------------------------------------------------------------


def run_checks(
    load: Callable[[], Settings] = _load_settings,
    *,
    allegro_timeout: float = ALLEGRO_TIMEOUT_SECONDS,
) -> list[Finding]:
    """Every check in order; later checks are skipped when what they need is broken."""
    settings, findings = check_configuration(load)
    if settings is None:
        return findings
    findings += check_production(settings)
    control = check_control_store(settings)
    findings += control
    findings += check_warehouse(settings)
    control_ok = all(f.ok for f in control)
    if control_ok:
        findings += check_token_keys(settings)
    findings += check_signing_key(settings)
    findings += check_mail(settings, allegro_timeout)
    findings += check_allegro(settings, allegro_timeout)
    if control_ok:
        findings += check_agency_accounts(settings)
        findings += check_statistics_links(settings)
        findings += check_tokens(settings)
    return findings


def format_findings(findings: Sequence[Finding]) -> str:
    """One line per finding: ✓/✗, the check, what was seen, and what to do about it."""
    rows = [("✓" if f.ok else "✗", f.check, f.detail, f.fix or "") for f in findings]
    failed = sum(not f.ok for f in findings)
    verdict = "all checks passed" if not failed else f"{failed} check(s) need attention"
    return format_table(("", "CHECK", "RESULT", "FIX"), rows) + "\n\n" + verdict
