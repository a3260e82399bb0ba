"""wins credited to Slack users who are not in the people list

Revision ID: 0012
Revises: 0016
Create Date: 2026-12-01 23:00:00

``/win`` by a Slack user the people list does not know yet credits them as themselves, by Slack id
(``win_credit_slack_users``), instead of refusing the win.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0016"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "win_credit_slack_users",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("workspace_id", BIG_ID, nullable=False),
        sa.Column("win_id", BIG_ID, nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_win_credit_slack_users_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["win_id"],
            ["wins.id"],
            name=op.f("fk_win_credit_slack_users_win_id_wins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_win_credit_slack_users")),
        sa.UniqueConstraint(
            "win_id", "slack_user_id", name=op.f("uq_win_credit_slack_users_win_id_slack_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("win_credit_slack_users")
