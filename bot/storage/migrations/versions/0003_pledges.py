"""Pledges: who said "I'm in" to which action, and whether they were reminded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledges",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("pledged_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", "campaign_id", "action"),
    )
    op.create_index("ix_pledges_campaign_action", "pledges", ["campaign_id", "action"])


def downgrade() -> None:
    op.drop_table("pledges")
