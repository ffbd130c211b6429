"""Indexes for the desk's readings: a campaign's audience and counts, a broadcast's outcomes.

Issue 21: at 100,000 subscriptions and 1,000,000 delivery rows, the desk's overview took
550 ms (SQLite, median) and its broadcast list 160 ms, most queries reading a whole table, row
by row or sorted (bench/desk.py, docs/benchmarks.md). Building them takes under a second at
that size; on PostgreSQL it holds writes to the two tables meanwhile (the migration runs in one
transaction, so not CONCURRENTLY): run it with the bot stopped, as every migration.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_subscriptions_audience",
        "subscriptions",
        ["campaign_id", "status", "language_code", "topics", "chat_id"],
    )
    op.create_index(
        "ix_subscriptions_counts",
        "subscriptions",
        ["campaign_id", "source", "status", "chat_type", "subscribed_at", "updated_at"],
    )
    op.create_index("ix_deliveries_broadcast_status", "deliveries", ["broadcast_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_broadcast_status", table_name="deliveries")
    op.drop_index("ix_subscriptions_counts", table_name="subscriptions")
    op.drop_index("ix_subscriptions_audience", table_name="subscriptions")
