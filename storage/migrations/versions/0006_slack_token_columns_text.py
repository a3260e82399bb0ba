"""slack token columns text

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:30:00

slack_sdk's installation tables keep tokens in VARCHAR(200). Encrypted (bot.oauth), a rotating token
(``xoxe.xoxb-1-…``, about 170 characters) or its refresh token takes over 300: PostgreSQL refused the
install. The token columns become TEXT.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TOKEN_COLUMNS = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
}


def upgrade() -> None:
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
                )


def downgrade() -> None:
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
                )
