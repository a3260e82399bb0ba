"""accounts: source and campaign; revenue facts kept at import (mrr_movements, revenue_months)

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-01 23:00:00

Accounts gain two optional acquisition cuts, ``source`` and ``campaign``. The revenue KPIs read facts
kept up to date by every revenue import instead of re-scanning every account's months per scorecard:
one row per account-month (``mrr_movements``) and one per workspace-month (``revenue_months``). The
upgrade computes them for the revenue already stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("campaign", sa.String(length=64), nullable=True))
    op.create_table(
        "mrr_movements",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("mrr", sa.BigInteger(), nullable=False),
        sa.Column("prev_mrr", sa.BigInteger(), nullable=False),
        sa.Column("base_mrr", sa.BigInteger(), nullable=False),
        sa.Column("movement", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_mrr_movements_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mrr_movements_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mrr_movements")),
        sa.UniqueConstraint("account_id", "month", name=op.f("uq_mrr_movements_account_id_month")),
    )
    op.create_index(
        "ix_mrr_movements_workspace_month",
        "mrr_movements",
        ["workspace_id", "month", "account_id", "mrr", "prev_mrr", "base_mrr", "movement"],
    )
    op.create_index(
        "ix_mrr_movements_workspace_movement",
        "mrr_movements",
        ["workspace_id", "movement", "month", "account_id"],
    )
    counts = [
        "paying",
        "mrr_total",
        "paying_before",
        "churned",
        "new",
        "reactivation",
        "expansion",
        "contraction",
        "nrr_base",
        "nrr_current",
        "grr_current",
    ]
    op.create_table(
        "revenue_months",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in counts],
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_revenue_months_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_months")),
        sa.UniqueConstraint("workspace_id", "month", name=op.f("uq_revenue_months_workspace_id_month")),
    )
    # The facts of the revenue already stored (none on a new database).
    from sqlalchemy.orm import Session

    from storage import revenue_facts

    session = Session(bind=op.get_bind())
    workspaces = session.execute(sa.text("SELECT DISTINCT workspace_id FROM mrr_snapshots")).scalars().all()
    for ws in workspaces:
        revenue_facts.refresh(session, int(ws))
    session.flush()


def downgrade() -> None:
    op.drop_table("revenue_months")
    op.drop_index("ix_mrr_movements_workspace_movement", table_name="mrr_movements")
    op.drop_index("ix_mrr_movements_workspace_month", table_name="mrr_movements")
    op.drop_table("mrr_movements")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("campaign")
        batch_op.drop_column("source")
