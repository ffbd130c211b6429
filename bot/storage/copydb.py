"""Copy every row from one database to another: how a campaign moves from SQLite to PostgreSQL.

`python -m bot copy-db sqlite:///data/solidarity.db postgresql://bot@db/solidarity`. The bot
must be stopped (its sender lock is checked); the target must be empty, and is left empty if
anything goes wrong, because the whole copy is one transaction on the target.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage import Storage, metadata
from bot.storage.leader import sender_lock
from bot.storage.schema import SchemaError

BATCH = 5000
# Every table but the key check, which each database writes for its own key when created
# (bot/storage/keys.py): ids pass through the source's key and then the target's.
COPIED = [table for table in metadata.sorted_tables if table.name != "key_check"]


class CopyError(Exception):
    """The copy cannot be made; says why, and nothing was written."""


async def copy_database(source: Storage, target: Storage, batch: int = BATCH) -> dict[str, int]:
    """Copy all rows from `source` into the empty `target`; return the rows copied per table."""
    found = await source.schema_state()
    if found.revision is None:
        raise CopyError("the source database has no tables: nothing to copy")
    if not found.current:
        raise CopyError(
            f"the source database has schema {found.revision}, not {found.head}: "
            "run `python -m bot migrate` on it first"
        )
    try:
        await target.create_schema()
    except SchemaError as error:
        raise CopyError(f"the target database: {error}") from None
    async with _bot_stopped(source):
        for table in COPIED:
            if await _count(target, table):
                raise CopyError(
                    f"the target database already holds {table.name}: copy only into an "
                    "empty database"
                )
        copied = {}
        async with target.engine.begin() as writing:
            for table in COPIED:
                copied[table.name] = 0
                async for rows in _rows(source, table, batch):
                    await writing.execute(insert(table), rows)
                    copied[table.name] += len(rows)
            if target.dialect == "postgresql":
                await _advance_sequences(writing)
    for table in COPIED:
        in_target = await _count(target, table)
        if in_target != copied[table.name]:
            raise CopyError(f"{table.name}: copied {copied[table.name]}, found {in_target}")
    return copied


@contextlib.asynccontextmanager
async def _bot_stopped(source: Storage) -> AsyncIterator[None]:
    """Hold the source's sender lock for the copy; refuse if a running bot holds it."""
    lock = sender_lock(source.engine)
    try:
        await asyncio.wait_for(lock.acquire(), timeout=3.0)
    except TimeoutError:
        raise CopyError(
            "a bot is running on the source database (it holds the sender lock): stop every "
            "bot process first, so that nothing changes during the copy"
        ) from None
    try:
        yield
    finally:
        await lock.release()


async def _rows(
    source: Storage, table: Table, batch: int
) -> AsyncIterator[list[dict[str, object]]]:
    """Yield the table's rows in primary-key order, `batch` at a time, never all at once."""
    order = list(table.primary_key.columns)
    async with source.engine.connect() as reading:
        result = await reading.stream(select(table).order_by(*order))
        async for chunk in result.mappings().partitions(batch):
            yield [dict(row) for row in chunk]


async def _count(storage: Storage, table: Table) -> int:
    async with storage.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def _advance_sequences(connection: AsyncConnection) -> None:
    """Make PostgreSQL's id sequences continue after the copied ids, not restart at 1."""
    for table in COPIED:
        if "id" not in table.c:
            continue
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"
            )
        )
