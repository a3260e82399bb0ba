"""kpi_target_changes: every change of a KPI target (who, when, old, new)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00

Targets per KPI, period kind and optionally segment, from Slack, the CLI or the policy file. The
table is append-only: the targets in force at a time are the latest change of each target up to
that time, so a past digest can be rebuilt with the targets it showed. Values are exact decimals
stored as integer millionths.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kpi_target_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("kpi", sa.String(length=48), nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=True),
        sa.Column("layer", sa.String(length=8), nullable=False),
        sa.Column("old_value", sa.BigInteger(), nullable=True),
        sa.Column("new_value", sa.BigInteger(), nullable=True),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_kpi_target_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_target_changes")),
    )
    op.create_index(
        "ix_kpi_target_changes_workspace_changed",
        "kpi_target_changes",
        ["workspace_id", "changed_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_target_changes_workspace_changed", table_name="kpi_target_changes")
    op.drop_table("kpi_target_changes")
