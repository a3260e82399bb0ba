"""customer feedback: themes, their history, items, voice-of-the-customer digest subscriptions

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 22:42:55.365147
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_digest_subscriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_feedback_digest_subscriptions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_digest_subscriptions")),
        sa.UniqueConstraint(
            "workspace_id",
            "channel_id",
            name=op.f("uq_feedback_digest_subscriptions_workspace_id_channel_id"),
        ),
    )
    op.create_table(
        "feedback_themes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("shipped_on", sa.Date(), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["feedback_themes.id"],
            name=op.f("fk_feedback_themes_merged_into_id_feedback_themes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_feedback_themes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_themes")),
        sa.UniqueConstraint(
            "workspace_id", "name_key", name=op.f("uq_feedback_themes_workspace_id_name_key")
        ),
    )
    with op.batch_alter_table("feedback_themes", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_themes_workspace_status", ["workspace_id", "status"], unique=False)

    op.create_table(
        "feedback_theme_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("theme_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("status_from", sa.String(length=12), nullable=True),
        sa.Column("status_to", sa.String(length=12), nullable=True),
        sa.Column("other_theme_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["other_theme_id"],
            ["feedback_themes.id"],
            name=op.f("fk_feedback_theme_events_other_theme_id_feedback_themes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["feedback_themes.id"],
            name=op.f("fk_feedback_theme_events_theme_id_feedback_themes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_feedback_theme_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_theme_events")),
    )
    with op.batch_alter_table("feedback_theme_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_theme_events_theme_id"), ["theme_id"], unique=False)
        batch_op.create_index(
            "ix_feedback_theme_events_workspace_at", ["workspace_id", "occurred_at"], unique=False
        )

    op.create_table(
        "feedback_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("theme_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("importance", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=254), nullable=True),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("logged_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("logged_by_slack", sa.String(length=32), nullable=True),
        sa.Column("logged_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_feedback_items_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["logged_by_id"],
            ["people.id"],
            name=op.f("fk_feedback_items_logged_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["feedback_themes.id"],
            name=op.f("fk_feedback_items_theme_id_feedback_themes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_feedback_items_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_items")),
        sa.UniqueConstraint(
            "workspace_id", "external_id", name=op.f("uq_feedback_items_workspace_id_external_id")
        ),
    )
    with op.batch_alter_table("feedback_items", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_items_account", ["account_id"], unique=False)
        batch_op.create_index(
            "ix_feedback_items_workspace_theme",
            ["workspace_id", "theme_id", "account_id", "logged_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback_items", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_items_workspace_theme")
        batch_op.drop_index("ix_feedback_items_account")

    op.drop_table("feedback_items")
    with op.batch_alter_table("feedback_theme_events", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_theme_events_workspace_at")
        batch_op.drop_index(batch_op.f("ix_feedback_theme_events_theme_id"))

    op.drop_table("feedback_theme_events")
    with op.batch_alter_table("feedback_themes", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_themes_workspace_status")

    op.drop_table("feedback_themes")
    op.drop_table("feedback_digest_subscriptions")
