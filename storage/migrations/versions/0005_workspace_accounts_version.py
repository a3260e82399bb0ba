"""workspace accounts version

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:10:00

A token that changes whenever a workspace's accounts change (the importer sets a new one), so a
process can keep the account names that typo-tolerant lookup compares against, and know when they
are stale, from one small read.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accounts_version", sa.String(length=32), nullable=False, server_default="")
        )
    workspaces = sa.table("workspaces", sa.column("id", sa.BigInteger), sa.column("accounts_version"))
    conn = op.get_bind()
    for (ws,) in conn.execute(sa.select(workspaces.c.id)).all():
        conn.execute(
            workspaces.update().where(workspaces.c.id == ws).values(accounts_version=uuid.uuid4().hex)
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("accounts_version")
