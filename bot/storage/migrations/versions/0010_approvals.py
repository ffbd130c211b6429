"""Approvals: a broadcast over APPROVAL_THRESHOLD waits for a second organizer.

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


def upgrade() -> None:
    op.add_column("broadcasts", sa.Column("approval_asked_at", sa.DateTime(), nullable=True))
    op.add_column("broadcasts", sa.Column("approved_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Earlier revisions know no waiting state: a broadcast still waiting is cancelled.
    op.execute("UPDATE broadcasts SET state = 'cancelled' WHERE state = 'awaiting'")
    op.drop_column("broadcasts", "approved_by")
    op.drop_column("broadcasts", "approval_asked_at")
