"""Deliveries keep the ids of the messages they became, so a broadcast can be edited or deleted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("message_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "message_ids")
