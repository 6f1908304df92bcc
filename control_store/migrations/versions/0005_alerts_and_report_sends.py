"""Alerts and report e-mails: a customer's contact address, a portfolio's alert address, the
state of every alert (so each is told once per change, across daemon restarts) and the report
e-mails sent (so a re-run never sends one twice).

Adding nullable columns needs no batch mode, on SQLite too: existing rows read NULL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("customers", sa.Column("contact_email", sa.String(320)))
    op.add_column("portfolios", sa.Column("alert_email", sa.String(320)))
    op.create_table(
        "alert_states",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        _ts("since", nullable=False),
        sa.Column("notified_state", sa.String(16)),
        _ts("notified_at"),
        _ts("resolved_at"),
        sa.PrimaryKeyConstraint("key", name="pk_alert_states"),
        sa.CheckConstraint("state IN ('firing', 'resolved')", name="ck_alert_states_state"),
    )
    op.create_table(
        "report_sends",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        _ts("sent_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_sends"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_report_sends_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "customer_id", "kind", "period_start", "period_end", name="uq_report_sends_customer_id"
        ),
        sa.CheckConstraint("kind IN ('weekly', 'monthly')", name="ck_report_sends_kind"),
    )


def downgrade() -> None:
    # Loses the alert history (every current alert is told again) and the record of reports
    # sent (a re-run would send them again), plus the contact and alert addresses.
    op.drop_table("report_sends")
    op.drop_table("alert_states")
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("alert_email")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("contact_email")
