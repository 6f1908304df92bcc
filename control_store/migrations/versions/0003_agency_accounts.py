"""Agency accounts and their clients; tokens keyed by account (sales or agency).

``oauth_tokens.customer_id`` becomes ``account_id`` without its foreign key (an agency
account's connection has no customer) and gains ``account_kind``; every existing row is a
customer's sales account. ``customers`` gains the agency account its ``ads_client_id`` belongs
to. SQLite cannot alter columns or constraints, hence batch mode (the table is copied).

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agency_accounts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("allegro_user_id", sa.String(100)),
        sa.Column("allegro_login", sa.String(200)),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agency_accounts"),
        sa.UniqueConstraint("name", name="uq_agency_accounts_name"),
        sa.UniqueConstraint("allegro_user_id", name="uq_agency_accounts_allegro_user_id"),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("agency_account_id", sa.String(32)))
        batch.create_foreign_key(
            "fk_customers_agency_account_id_agency_accounts",
            "agency_accounts",
            ["agency_account_id"],
            ["id"],
        )
        batch.create_unique_constraint(
            "uq_customers_agency_account_id", ["agency_account_id", "ads_client_id"]
        )
    op.create_table(
        "agency_clients",
        sa.Column("agency_account_id", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _ts("first_seen_at", nullable=False),
        _ts("last_seen_at", nullable=False),
        _ts("removed_at"),
        sa.Column("customer_id", sa.String(32)),
        sa.PrimaryKeyConstraint("agency_account_id", "client_id", name="pk_agency_clients"),
        sa.UniqueConstraint("customer_id", name="uq_agency_clients_customer_id"),
        sa.ForeignKeyConstraint(
            ["agency_account_id"],
            ["agency_accounts.id"],
            name="fk_agency_clients_agency_account_id_agency_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_agency_clients_customer_id_customers",
            ondelete="SET NULL",
        ),
    )
    # Two steps: the kind is added empty, filled, then required (a batch copies the rows once
    # per step on SQLite; the table holds one row per connected account).
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.drop_constraint("fk_oauth_tokens_customer_id_customers", type_="foreignkey")
        batch.alter_column(
            "customer_id",
            new_column_name="account_id",
            existing_type=sa.String(32),
            existing_nullable=False,
        )
        batch.add_column(sa.Column("account_kind", sa.String(16), nullable=True))
    op.execute("UPDATE oauth_tokens SET account_kind = 'sales'")
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.alter_column("account_kind", existing_type=sa.String(16), nullable=False)
        batch.create_check_constraint(
            op.f("ck_oauth_tokens_account_kind"), "account_kind IN ('sales', 'agency')"
        )


def downgrade() -> None:
    # Only sales connections fit the old table; agency connections are dropped with their
    # accounts.
    op.execute("DELETE FROM oauth_tokens WHERE account_kind <> 'sales'")
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.drop_constraint(op.f("ck_oauth_tokens_account_kind"), type_="check")
        batch.drop_column("account_kind")
        batch.alter_column(
            "account_id",
            new_column_name="customer_id",
            existing_type=sa.String(32),
            existing_nullable=False,
        )
        batch.create_foreign_key(
            "fk_oauth_tokens_customer_id_customers",
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.drop_table("agency_clients")
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("uq_customers_agency_account_id", type_="unique")
        batch.drop_constraint("fk_customers_agency_account_id_agency_accounts", type_="foreignkey")
        batch.drop_column("agency_account_id")
    op.drop_table("agency_accounts")
