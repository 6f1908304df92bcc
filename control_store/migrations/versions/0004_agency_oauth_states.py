"""Pending "Connect agency account" sign-ins of the portal (code flow with PKCE): each state
is bound to the agency account and to the admin who began it, single use and short-lived.

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "agency_oauth_states",
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("agency_account_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("code_verifier_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("state", name="pk_agency_oauth_states"),
        sa.ForeignKeyConstraint(
            ["agency_account_id"],
            ["agency_accounts.id"],
            name="fk_agency_oauth_states_agency_account_id_agency_accounts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_agency_oauth_states_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_agency_oauth_states_agency_account_id", "agency_oauth_states", ["agency_account_id"]
    )


def downgrade() -> None:
    # Pending sign-ins only: an admin starts the connection again.
    op.drop_index("ix_agency_oauth_states_agency_account_id", table_name="agency_oauth_states")
    op.drop_table("agency_oauth_states")
