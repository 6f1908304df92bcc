"""The control store's first schema: customers, portfolios, users, links, tokens, API calls.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "portfolios",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_portfolios"),
        sa.UniqueConstraint("name", name="uq_portfolios_name"),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("allegro_login", sa.String(200)),
        sa.Column("allegro_user_id", sa.String(100)),
        sa.Column("ads_client_id", sa.String(100)),
        sa.Column("portfolio_id", sa.String(32)),
        sa.Column("currency", sa.String(3), nullable=False, server_default=sa.text("'PLN'")),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("name", name="uq_customers_name"),
        sa.UniqueConstraint("allegro_user_id", name="uq_customers_allegro_user_id"),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name="fk_customers_portfolio_id_portfolios",
            ondelete="SET NULL",
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint("role IN ('admin', 'viewer')", name="ck_users_role"),
    )
    op.create_table(
        "viewer_portfolios",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("portfolio_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "portfolio_id", name="pk_viewer_portfolios"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_viewer_portfolios_user_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name="fk_viewer_portfolios_portfolio_id_portfolios",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "auth_links",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(320)),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _ts("revoked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_auth_links"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_auth_links_customer_id_customers",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_auth_links_customer_id", "auth_links", ["customer_id"])
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("link_id", sa.String(64), nullable=False),
        sa.Column("code_verifier_enc", sa.Text(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        sa.PrimaryKeyConstraint("state", name="pk_oauth_states"),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["auth_links.id"],
            name="fk_oauth_states_link_id_auth_links",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_oauth_states_link_id", "oauth_states", ["link_id"])
    op.create_table(
        "oauth_tokens",
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("access_token_enc", sa.Text(), nullable=False),
        sa.Column("refresh_token_enc", sa.Text(), nullable=False),
        _ts("expires_at", nullable=False),
        _ts("refresh_expires_at", nullable=False),
        sa.Column("scope", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("connected_at", nullable=False),
        _ts("last_refresh_at"),
        sa.Column("last_error", sa.Text()),
        _ts("updated_at", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.PrimaryKeyConstraint("customer_id", name="pk_oauth_tokens"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_oauth_tokens_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('connected', 'expiring', 'expired', 'needs_reauth', 'revoked')",
            name="ck_oauth_tokens_status",
        ),
    )
    op.create_table(
        "api_calls",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        _ts("ts", nullable=False),
        sa.Column("customer_id", sa.String(32)),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer()),
        sa.Column("trace_id", sa.String(200)),
        sa.Column("error", sa.Text()),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("run_id", sa.String(100)),
        sa.PrimaryKeyConstraint("id", name="pk_api_calls"),
    )
    op.create_index("ix_api_calls_customer_ts", "api_calls", ["customer_id", "ts"])
    op.create_index("ix_api_calls_ts", "api_calls", ["ts"])
    op.create_index("ix_api_calls_run_id", "api_calls", ["run_id"])


def downgrade() -> None:
    for table in (
        "api_calls",
        "oauth_tokens",
        "oauth_states",
        "auth_links",
        "viewer_portfolios",
        "users",
        "customers",
        "portfolios",
    ):
        op.drop_table(table)
