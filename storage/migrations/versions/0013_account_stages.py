"""account_stages: each account's lifecycle stage entry dates, kept up to date at every write; indexes
for first-value targets by date and for red health scores

Stage conversion counted every account's stage dates again per period (three joins of milestones per
account, and the champions from wins and NPS): the kept dates make it a few indexed counts. First value
on time read every first-value milestone to pick those due in the period; churn risk coverage read every
paying account's latest score to find the red ones.

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-02 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None

STAGE_INDEXES = (
    ("won", ["workspace_id", "closed_won_on"]),
    ("onboarded", ["workspace_id", "onboarded_on", "closed_won_on"]),
    ("adopted", ["workspace_id", "adopted_on", "onboarded_on"]),
    ("champion", ["workspace_id", "champion_on", "adopted_on"]),
    ("kickoff", ["workspace_id", "kickoff_on", "account_closed_won_on"]),
)


def upgrade() -> None:
    op.create_table(
        "account_stages",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("closed_won_on", sa.Date(), nullable=True),
        sa.Column("onboarded_on", sa.Date(), nullable=True),
        sa.Column("adopted_on", sa.Date(), nullable=True),
        sa.Column("champion_on", sa.Date(), nullable=True),
        sa.Column("account_closed_won_on", sa.Date(), nullable=True),
        sa.Column("kickoff_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_stages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_account_stages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_stages")),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index(
            "ix_milestones_workspace_kind_target",
            ["workspace_id", "kind", "target_on", "achieved_on"],
            unique=False,
        )
    with op.batch_alter_table("health_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_snapshots_red",
            ["workspace_id", "day", "account_id"],
            unique=False,
            sqlite_where=sa.text("band = 'red'"),
            postgresql_where=sa.text("band = 'red'"),
        )
    # The stage dates of the accounts already stored (none on a new database), before the indexes:
    # one bulk insert per workspace.
    from sqlalchemy.orm import Session

    from storage import stage_dates

    session = Session(bind=op.get_bind())
    workspaces = session.execute(sa.text("SELECT DISTINCT workspace_id FROM accounts")).scalars().all()
    for ws in workspaces:
        stage_dates.refresh(session, int(ws))
    session.flush()
    with op.batch_alter_table("account_stages", schema=None) as batch_op:
        for name, columns in STAGE_INDEXES:
            batch_op.create_index(f"ix_account_stages_workspace_{name}", columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("health_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_health_snapshots_red")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index("ix_milestones_workspace_kind_target")
    op.drop_table("account_stages")
