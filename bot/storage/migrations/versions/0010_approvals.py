"""Approvals: a broadcast, or an edit or retraction of one, over APPROVAL_THRESHOLD waits for a
second organizer.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


_TABLES = ("broadcasts", "corrections")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("approval_asked_at", sa.DateTime(), nullable=True))
        op.add_column(table, sa.Column("approved_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Earlier revisions know no waiting state: whatever still waits is cancelled.
    for table in _TABLES:
        op.execute(f"UPDATE {table} SET state = 'cancelled' WHERE state = 'awaiting'")
        op.drop_column(table, "approved_by")
        op.drop_column(table, "approval_asked_at")
