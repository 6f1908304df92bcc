"""Tables of the control store (agency accounts and their clients, customers, users, links,
encrypted tokens, API-call log, portal sessions, failed sign-ins, alert states and report
e-mails sent).

SQLAlchemy Core only. Every timestamp is timezone-aware UTC (``UTCDateTime``), on SQLite too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect

from allegro_resource.token_status import TokenStatus
from control_store.account_kind import AccountKind

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

TOKEN_STATUSES = tuple(status.value for status in TokenStatus)
ROLES = ("admin", "viewer")
ACCOUNT_KINDS = tuple(kind.value for kind in AccountKind)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the control store; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the control store, got {type(value)}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False)


portfolios = Table(
    "portfolios",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    _created(),
    # Alerts about this portfolio's customers go here as well as to the staff addresses.
    Column("alert_email", String(320)),
)

# The agency's own Allegro accounts; their tokens read the clients and their statistics.
agency_accounts = Table(
    "agency_accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("allegro_user_id", String(100), unique=True),  # null until connected
    Column("allegro_login", String(200)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _created(),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("allegro_login", String(200)),
    Column("allegro_user_id", String(100), unique=True),
    # The agency client id (the statistics path's {clientId}) within ``agency_account_id``.
    Column("ads_client_id", String(100)),
    Column("portfolio_id", String(32), ForeignKey("portfolios.id", ondelete="SET NULL")),
    Column("currency", String(3), nullable=False, server_default=text("'PLN'")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _created(),
    Column("agency_account_id", String(32), ForeignKey("agency_accounts.id")),
    # One customer per agency client (rows without an agency account are not compared).
    UniqueConstraint("agency_account_id", "ads_client_id"),
    # Where the customer's consent links and (optionally) reports are e-mailed.
    Column("contact_email", String(320)),
)

# Each agency account's clients as its last listings showed them, and the customer adopting each.
agency_clients = Table(
    "agency_clients",
    metadata,
    Column(
        "agency_account_id",
        String(32),
        ForeignKey("agency_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("client_id", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("removed_at", UTCDateTime()),  # left the list; cleared when it comes back
    Column(
        "customer_id",
        String(32),
        ForeignKey("customers.id", ondelete="SET NULL"),
        unique=True,
    ),
    PrimaryKeyConstraint("agency_account_id", "client_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _created(),
    CheckConstraint("role IN ('admin', 'viewer')", name="role"),
)

viewer_portfolios = Table(
    "viewer_portfolios",
    metadata,
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "portfolio_id",
        String(32),
        ForeignKey("portfolios.id", ondelete="CASCADE"),
        nullable=False,
    ),
    PrimaryKeyConstraint("user_id", "portfolio_id"),
)

auth_links = Table(
    "auth_links",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "customer_id",
        String(32),
        ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_by", String(320)),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(128), primary_key=True),
    Column(
        "link_id",
        String(64),
        ForeignKey("auth_links.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("code_verifier_enc", Text, nullable=False),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
)

# One connection per authorised account: a customer's sales account (``c_…``) or an agency
# account (``ag_…``). No foreign key: the id names a row of either table, per ``account_kind``.
# A portal admin's "Connect agency account" in flight: the code flow's state, bound to the
# agency account and to the admin who began it; single use, short-lived.
agency_oauth_states = Table(
    "agency_oauth_states",
    metadata,
    Column("state", String(128), primary_key=True),
    Column(
        "agency_account_id",
        String(32),
        ForeignKey("agency_accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_verifier_enc", Text, nullable=False),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("account_kind", String(16), nullable=False),  # AccountKind; no default: say which
    Column("access_token_enc", Text, nullable=False),
    Column("refresh_token_enc", Text, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("refresh_expires_at", UTCDateTime(), nullable=False),
    Column("scope", Text, nullable=False, server_default=text("''")),
    Column("status", String(16), nullable=False),
    Column("connected_at", UTCDateTime(), nullable=False),
    Column("last_refresh_at", UTCDateTime()),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    CheckConstraint(
        "status IN (" + ", ".join(f"'{status}'" for status in TOKEN_STATUSES) + ")",
        name="status",
    ),
    CheckConstraint(
        "account_kind IN (" + ", ".join(f"'{kind}'" for kind in ACCOUNT_KINDS) + ")",
        name="account_kind",
    ),
)

api_calls = Table(
    "api_calls",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("ts", UTCDateTime(), nullable=False),
    # The account whose token made the call (``c_…`` or ``ag_…``); statistics calls made with an
    # agency token for a customer log that customer. The name predates agency accounts.
    Column("customer_id", String(32)),
    Column("method", String(10), nullable=False),
    Column("endpoint", String(500), nullable=False),
    Column("status", Integer),
    Column("duration_ms", Integer, nullable=False),
    Column("rows", Integer),
    Column("trace_id", String(200)),
    Column("error", Text),
    Column("attempt", Integer, nullable=False, server_default=text("1")),
    Column("run_id", String(100)),
    Index("ix_api_calls_customer_ts", "customer_id", "ts"),
    Index("ix_api_calls_ts", "ts"),
    Index("ix_api_calls_run_id", "run_id"),
)

# Failed portal sign-ins, for throttling (per email and client address) across processes.
login_failures = Table(
    "login_failures",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("email", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Index("ix_login_failures_email_ip_ts", "email", "ip", "ts"),
    Index("ix_login_failures_ts", "ts"),
)

# Signed-in portal sessions: the signed cookie names one; signing out ends it server-side.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "user_id",
        String(32),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _created(),
    Column("ended_at", UTCDateTime()),
)

ALERT_STATES = ("firing", "resolved")
REPORT_KINDS = ("weekly", "monthly")

# One row per alert ever raised (``key`` names the condition and its subject, such as
# ``sales_reauth:c_…``): its state since when, and the state last told to people, so each change
# is told once, across daemon restarts.
alert_states = Table(
    "alert_states",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("summary", Text, nullable=False),  # one line; what a "resolved" message names
    Column("since", UTCDateTime(), nullable=False),
    Column("notified_state", String(16)),  # null: never told
    Column("notified_at", UTCDateTime()),
    Column("resolved_at", UTCDateTime()),
    CheckConstraint("state IN ('firing', 'resolved')", name="state"),
)

# Each report e-mail sent: one per customer, kind and period, so a re-run never sends twice.
report_sends = Table(
    "report_sends",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column(
        "customer_id",
        String(32),
        ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("recipients", Text, nullable=False),  # comma-separated, as sent
    Column("sent_at", UTCDateTime(), nullable=False),
    UniqueConstraint("customer_id", "kind", "period_start", "period_end"),
    CheckConstraint("kind IN ('weekly', 'monthly')", name="kind"),
)
