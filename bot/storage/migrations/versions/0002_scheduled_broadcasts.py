"""Scheduled and stoppable broadcasts: when one is due, when its sending began.

New states need no schema: broadcasts may be `scheduled`, deliveries `claimed` (taken by the
sender, certainly not sent) or `cancelled` (stopped by an organizer).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("broadcasts", sa.Column("send_at", sa.DateTime(), nullable=True))
    op.add_column("broadcasts", sa.Column("started_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    # Back to what v1 understands: it cannot schedule, and knows no claimed or cancelled
    # recipient. A scheduled broadcast is cancelled rather than sent at once.
    op.execute("UPDATE broadcasts SET state = 'cancelled' WHERE state = 'scheduled'")
    op.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'claimed'")
    op.execute(
        "UPDATE deliveries SET status = 'failed', error = 'stopped by an organizer' "
        "WHERE status = 'cancelled'"
    )
    op.drop_column("broadcasts", "started_at")
    op.drop_column("broadcasts", "send_at")
