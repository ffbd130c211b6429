"""Inbox: updates taken from Telegram, kept until answered; paid answers per day (issue 20).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("lane", sa.SmallInteger(), nullable=False),
        sa.Column("chat", sa.LargeBinary(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_inbox_waiting", "inbox", ["done_at", "lane", "update_id"])
    op.create_index("ix_inbox_chat", "inbox", ["chat", "update_id"])
    op.create_table(
        "paid_answers",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("spent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("paid_answers")
    # Updates still waiting would be lost with the table: answer them first (run the bot).
    op.drop_index("ix_inbox_chat", table_name="inbox")
    op.drop_index("ix_inbox_waiting", table_name="inbox")
    op.drop_table("inbox")
