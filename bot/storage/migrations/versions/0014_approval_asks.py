"""Approval asks: the messages that asked organizers to approve, until decided (issue 21).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_asks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.LargeBinary(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_asks_subject", "approval_asks", ["subject", "subject_id"])


def downgrade() -> None:
    # The requests still waiting keep their buttons, which answer as before.
    op.drop_index("ix_approval_asks_subject", table_name="approval_asks")
    op.drop_table("approval_asks")
