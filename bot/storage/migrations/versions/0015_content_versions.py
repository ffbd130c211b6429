"""Content versions: the campaign folder as published to every process (issue 22).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_content_versions_digest", "content_versions", ["digest"])


def downgrade() -> None:
    # Each process then serves its own folder again, as before.
    op.drop_index("ix_content_versions_digest", table_name="content_versions")
    op.drop_table("content_versions")
