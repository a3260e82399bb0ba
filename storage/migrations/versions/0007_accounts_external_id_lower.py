"""accounts: index on lower(external_id); name index with pattern operators on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:30:00

Account lookup matches a CRM id in any case ("acc-000001" finds ACC-000001). An expression index on
(workspace_id, lower(external_id)) lets both databases answer that from the index, as the
case-sensitive id, the domain and the name already are, instead of scanning the workspace's accounts
on every /health.

A name prefix is looked up as a range of names; on PostgreSQL the name index is rebuilt with
varchar_pattern_ops so that the range compares code point by code point, whatever the database's
collation (SQLite's default collation already does).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_index(
        "ix_accounts_workspace_external_id_lower",
        "accounts",
        ["workspace_id", sa.text("lower(external_id)")],
    )
    if _postgresql():
        op.drop_index("ix_accounts_workspace_name", table_name="accounts")
        op.create_index(
            "ix_accounts_workspace_name",
            "accounts",
            ["workspace_id", "name_key"],
            postgresql_ops={"name_key": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    if _postgresql():
        op.drop_index("ix_accounts_workspace_name", table_name="accounts")
        op.create_index("ix_accounts_workspace_name", "accounts", ["workspace_id", "name_key"])
    op.drop_index("ix_accounts_workspace_external_id_lower", table_name="accounts")
