"""Corrections: organizers edit or retract a sent broadcast; each copy keeps the last one applied.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.Column("corrected", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("status_message_id", sa.Integer(), nullable=True),
        sa.Column("uncertain", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("report_language", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_corrections_broadcast_id", "corrections", ["broadcast_id"])
    op.create_index("ix_corrections_state", "corrections", ["state"])
    # 0006 stored "no messages" as JSON null, not SQL NULL: make it NULL, as the model now does.
    op.execute(
        "UPDATE deliveries SET message_ids = NULL "
        "WHERE message_ids IS NOT NULL AND CAST(message_ids AS TEXT) = 'null'"
    )
    op.add_column("deliveries", sa.Column("fixed_by", sa.Integer(), nullable=True))
    op.add_column("deliveries", sa.Column("fix_status", sa.String(16), nullable=True))
    op.add_column("deliveries", sa.Column("fix_error", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "fix_error")
    op.drop_column("deliveries", "fix_status")
    op.drop_column("deliveries", "fixed_by")
    op.drop_index("ix_corrections_state", "corrections")
    op.drop_index("ix_corrections_broadcast_id", "corrections")
    op.drop_table("corrections")
