"""Sealed ids: every stored Telegram id becomes bytes (issue 14), and a key check row is added.

Each id column turns from BIGINT into the unsealed form of bot/storage/sealing.py: 0x00 and
the id as 8 bytes, big-endian, signed. The migration knows no key; `python -m bot rotate-key`
then seals the ids under one. Going down refuses a database whose ids are sealed under a key
(`rotate-key --to-none` first): its ids cannot be read back without it.

PostgreSQL changes each column's type in place (`USING`), keeping its indexes. SQLite stores
any value in any column, so the values are rewritten in place first, then the declared types
are changed by rebuilding each table (batch mode), except `broadcasts`: dropping it would
empty `deliveries` through ON DELETE CASCADE, so its id columns are added anew, filled,
and the old ones dropped (SQLite 3.35+ drops an unindexed column in place).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.storage.schema import SchemaError

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (table, column, nullable); written out here, not read from the models, which move on.
ID_COLUMNS = [
    ("subscriptions", "chat_id", False),
    ("preferences", "chat_id", False),
    ("pledges", "chat_id", False),
    ("deliveries", "chat_id", False),
    ("audit_log", "admin_id", True),
    ("feed_items", "decided_by", True),
    ("broadcasts", "created_by", True),
    ("broadcasts", "status_chat_id", True),
    ("broadcasts", "approved_by", True),
    ("corrections", "created_by", True),
    ("corrections", "status_chat_id", True),
    ("corrections", "approved_by", True),
]
AUTOINCREMENT = {"deliveries", "feed_items", "corrections"}
MARKER = 0x5EA1_ED1D  # bot/storage/keys.py's marker
_ID = struct.Struct(">q")


def _seal(chat_id: int) -> bytes:
    return b"\x00" + _ID.pack(chat_id)


def _unseal(stored: bytes) -> int:
    return int(_ID.unpack(bytes(stored[1:]))[0])


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table, column, _ in ID_COLUMNS:
            _drop_serial(table, column)
            op.alter_column(
                table,
                column,
                type_=sa.LargeBinary(),
                existing_type=sa.BigInteger(),
                postgresql_using=f"decode('00', 'hex') || int8send({column})",
            )
    else:
        _convert_sqlite(_seal, sa.LargeBinary(), sa.BigInteger())
    key_check = op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("marker", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(key_check, [{"id": 1, "marker": _seal(MARKER)}])


def downgrade() -> None:
    marker = op.get_bind().scalar(sa.text("SELECT marker FROM key_check"))
    if marker is not None and bytes(marker)[0] != 0:
        raise SchemaError(
            "The database's ids are sealed under a key, which schema 0010 cannot read: run "
            "`python -m bot rotate-key --to-none` first (with the bot stopped)."
        )
    op.drop_table("key_check")
    if op.get_context().dialect.name == "postgresql":
        for table, column, _ in ID_COLUMNS:
            op.alter_column(
                table,
                column,
                type_=sa.BigInteger(),
                existing_type=sa.LargeBinary(),
                postgresql_using=(
                    f"('x' || encode(substring({column} from 2), 'hex'))::bit(64)::bigint"
                ),
            )
    else:
        _convert_sqlite(_unseal, sa.BigInteger(), sa.LargeBinary())


def _drop_serial(table: str, column: str) -> None:
    """Drop the sequence PostgreSQL gave a lone BIGINT primary key (preferences.chat_id):
    ids are Telegram's, never counted out, and bytes cannot take a number as default."""
    sequence = op.get_bind().scalar(
        sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table, "column": column},
    )
    if sequence is not None:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
        op.execute(f"DROP SEQUENCE {sequence}")


def _convert_sqlite(
    convert: Callable[[int], bytes] | Callable[[bytes], int],
    new_type: sa.types.TypeEngine[Any],
    old_type: sa.types.TypeEngine[Any],
) -> None:
    """Rewrite every id with `convert`, then declare the columns `new_type`."""
    for table, column, nullable in ID_COLUMNS:
        if table != "broadcasts":
            _rewrite(table, column, column, convert)
            autoincrement = {"sqlite_autoincrement": table in AUTOINCREMENT}
            with op.batch_alter_table(
                table, recreate="always", table_kwargs=autoincrement
            ) as batch:
                batch.alter_column(
                    column, type_=new_type, existing_type=old_type, existing_nullable=nullable
                )
            continue
        op.add_column(table, sa.Column(f"{column}_new", new_type, nullable=True))
        _rewrite(table, column, f"{column}_new", convert)
        op.drop_column(table, column)
        op.alter_column(table, f"{column}_new", new_column_name=column)


def _rewrite(
    table: str, source: str, target: str, convert: Callable[[int], bytes] | Callable[[bytes], int]
) -> None:
    """Set `target` to `convert(source)` on every row, one distinct value at a time."""
    connection = op.get_bind()
    values = connection.execute(
        sa.text(f"SELECT DISTINCT {source} FROM {table} WHERE {source} IS NOT NULL")
    ).scalars()
    pairs = [{"old": value, "new": convert(value)} for value in values]
    if pairs:
        connection.execute(
            sa.text(f"UPDATE {table} SET {target} = :new WHERE {source} = :old"), pairs
        )
