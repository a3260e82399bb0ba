"""plays and their history

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-01 22:50:00

A play is an owned action on one account (docs/plays.md). ``open_key`` holds the play key while the
play is not closed and NULL after: the unique key (workspace_id, account_id, open_key) allows one
play per account and play that is not closed, on both databases, without a partial index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plays",
        sa.Column("id", _id, nullable=False),
        sa.Column("workspace_id", _id, nullable=False),
        sa.Column("account_id", _id, nullable=False),
        sa.Column("play_key", sa.String(64), nullable=False),
        sa.Column("open_key", sa.String(64), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("owner_id", _id, nullable=True),
        sa.Column("owner_role", sa.String(16), nullable=False),
        sa.Column("owner_channel", sa.String(32), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by_id", _id, nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_by_id", _id, nullable=True),
        sa.Column("snoozed_until", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by_id", _id, nullable=True),
        sa.Column("outcome", sa.String(10), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("signal", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_plays_workspace_id_workspaces", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_plays_account_id_accounts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["people.id"], name="fk_plays_owner_id_people", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["people.id"], name="fk_plays_opened_by_id_people", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["people.id"], name="fk_plays_accepted_by_id_people", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["people.id"], name="fk_plays_closed_by_id_people", ondelete="SET NULL"
        ),
        sa.UniqueConstraint(
            "workspace_id", "account_id", "open_key", name="uq_plays_workspace_id_account_id_open_key"
        ),
        sa.UniqueConstraint("workspace_id", "external_id", name="uq_plays_workspace_id_external_id"),
        sa.CheckConstraint("state IN ('open', 'accepted', 'snoozed', 'closed')", name="ck_plays_state_known"),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('saved', 'expanded', 'churned', 'no_action')",
            name="ck_plays_outcome_known",
        ),
        sa.CheckConstraint("source IN ('signal', 'hand', 'import')", name="ck_plays_source_known"),
        sa.CheckConstraint(
            "(state = 'closed') = (closed_at IS NOT NULL)", name="ck_plays_closed_when_closed"
        ),
        sa.CheckConstraint("(state = 'closed') = (open_key IS NULL)", name="ck_plays_open_key_while_open"),
        sa.PrimaryKeyConstraint("id", name="pk_plays"),
    )
    op.create_index("ix_plays_workspace_state", "plays", ["workspace_id", "state", "owner_id"])
    op.create_index("ix_plays_workspace_opened", "plays", ["workspace_id", "opened_at"])
    op.create_index("ix_plays_workspace_closed", "plays", ["workspace_id", "closed_at"])
    op.create_index("ix_plays_account_key", "plays", ["account_id", "play_key", "closed_at"])
    op.create_table(
        "play_events",
        sa.Column("id", _id, nullable=False),
        sa.Column("workspace_id", _id, nullable=False),
        sa.Column("play_id", _id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", _id, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_play_events_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["play_id"], ["plays.id"], name="fk_play_events_play_id_plays", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["people.id"], name="fk_play_events_actor_id_people", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_play_events"),
    )
    op.create_index("ix_play_events_play", "play_events", ["play_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_play_events_play", table_name="play_events")
    op.drop_table("play_events")
    for name in (
        "ix_plays_account_key",
        "ix_plays_workspace_closed",
        "ix_plays_workspace_opened",
        "ix_plays_workspace_state",
    ):
        op.drop_index(name, table_name="plays")
    op.drop_table("plays")
