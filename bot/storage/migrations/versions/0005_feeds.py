"""Feeds: each campaign's feed state, and every post seen in it with what organizers decided.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_states",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("feed_url", sa.String(2000), nullable=True),
        sa.Column("etag", sa.String(500), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_table(
        "feed_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("guid", sa.String(1000), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("file", sa.String(1000), nullable=True),
        sa.Column("offered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ux_feed_items_campaign_guid", "feed_items", ["campaign_id", "guid"], unique=True
    )
    op.create_index("ix_feed_items_decided_by", "feed_items", ["decided_by"])


def downgrade() -> None:
    op.drop_table("feed_items")
    op.drop_table("feed_states")
