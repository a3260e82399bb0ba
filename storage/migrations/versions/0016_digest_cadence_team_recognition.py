"""digest subscriptions: cadence and team; people: opt out of being listed

Revision ID: 0016
Revises: 0008
Create Date: 2026-12-01 23:00:00

A digest subscription is weekly (as before), monthly or quarterly (the first weekday of the month or
quarter, at its local time), and may name a team whose digest leads with "Your team's part". A person
may opt out of being listed by name in the digest's recognition (``/win optout``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digest_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cadence", sa.String(length=8), nullable=False, server_default="week"))
        batch_op.add_column(sa.Column("team", sa.String(length=32), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unlisted", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("unlisted")
    with op.batch_alter_table("digest_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("team")
        batch_op.drop_column("cadence")
