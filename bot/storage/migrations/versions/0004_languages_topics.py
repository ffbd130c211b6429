"""Languages and topics: a chat's chosen language, the topics it follows, who a broadcast is for.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "preferences",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.add_column("subscriptions", sa.Column("topics", sa.String(1000), nullable=True))
    op.add_column("broadcasts", sa.Column("topic", sa.String(32), nullable=True))
    op.add_column("broadcasts", sa.Column("audience_language", sa.String(16), nullable=True))
    op.add_column("broadcasts", sa.Column("main_language", sa.String(16), nullable=True))
    op.add_column("broadcasts", sa.Column("translations", sa.JSON(), nullable=True))
    op.add_column("broadcasts", sa.Column("report_language", sa.String(16), nullable=True))
    op.add_column("deliveries", sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    # Back to what 0003 understands. A scheduled broadcast for one topic or language would go
    # to everyone there: it is cancelled instead. Queued ones keep their recipients, and
    # readers of other languages get the main text.
    op.execute(
        "UPDATE broadcasts SET state = 'cancelled' WHERE state IN ('draft', 'scheduled') "
        "AND (topic IS NOT NULL OR audience_language IS NOT NULL)"
    )
    op.drop_column("deliveries", "language")
    op.drop_column("broadcasts", "report_language")
    op.drop_column("broadcasts", "translations")
    op.drop_column("broadcasts", "main_language")
    op.drop_column("broadcasts", "audience_language")
    op.drop_column("broadcasts", "topic")
    op.drop_column("subscriptions", "topics")
    op.drop_table("preferences")
