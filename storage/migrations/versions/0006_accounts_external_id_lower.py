"""accounts: index on lower(external_id)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:30:00

Account lookup matches a CRM id in any case ("acc-000001" finds ACC-000001). An expression index on
(workspace_id, lower(external_id)) lets both databases answer that from the index, as the
case-sensitive id, the domain and the name already are, instead of scanning the workspace's accounts
on every /health.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_accounts_workspace_external_id_lower",
        "accounts",
        ["workspace_id", sa.text("lower(external_id)")],
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_workspace_external_id_lower", table_name="accounts")
