"""Retention: a broadcast keeps its counts when its delivery rows are deleted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("broadcasts", sa.Column("purged_at", sa.DateTime(), nullable=True))
    op.add_column("broadcasts", sa.Column("kept_counts", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Earlier revisions count a broadcast's outcomes from its delivery rows: one whose rows
    # were deleted reads as sent to nobody.
    op.drop_column("broadcasts", "kept_counts")
    op.drop_column("broadcasts", "purged_at")
