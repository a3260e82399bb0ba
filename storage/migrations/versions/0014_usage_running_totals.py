"""usage_daily running totals (rows_upto, users_upto) for the usage_drop trigger, backfilled; in the
(workspace, day) covering index

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy on SQLite): the table can hold millions of rows.
    op.add_column("usage_daily", sa.Column("rows_upto", sa.Integer(), server_default="0", nullable=False))
    op.add_column("usage_daily", sa.Column("users_upto", sa.BigInteger(), server_default="0", nullable=False))
    # Backfill every existing row: the account's rows and active users from its first day to this one.
    op.execute(
        "UPDATE usage_daily SET rows_upto = t.n, users_upto = t.s FROM ("
        " SELECT id, count(*) OVER w AS n, sum(active_users) OVER w AS s FROM usage_daily"
        " WINDOW w AS (PARTITION BY account_id ORDER BY day)"
        ") AS t WHERE usage_daily.id = t.id"
    )
    # The covering index of (workspace, day) carries the totals too: usage_drop reads every account's
    # row of two days from the index alone.
    op.drop_index("ix_usage_workspace_day", table_name="usage_daily")
    op.create_index(
        "ix_usage_workspace_day",
        "usage_daily",
        ["workspace_id", "day", "account_id", "active_users", "licensed_seats", "rows_upto", "users_upto"],
    )


def downgrade() -> None:
    op.drop_index("ix_usage_workspace_day", table_name="usage_daily")
    op.create_index(
        "ix_usage_workspace_day",
        "usage_daily",
        ["workspace_id", "day", "account_id", "active_users", "licensed_seats"],
    )
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.drop_column("users_upto")
        batch_op.drop_column("rows_upto")
