"""handoff sla clock

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:08:49.005384
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_key", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("warn_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("sla_stage", sa.SmallInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("next_check_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_handoffs_next_check_at"), ["next_check_at"], unique=False)
    # Handoffs already open are looked at when they fall due (their warning time is unknown).
    op.execute("UPDATE handoffs SET next_check_at = effective_due_at WHERE completed_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_next_check_at"))
        batch_op.drop_column("next_check_at")
        batch_op.drop_column("sla_stage")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("warn_at")
        batch_op.drop_column("policy_key")
