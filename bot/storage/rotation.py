"""Re-sealing every stored id under a new key, or none: `python -m bot rotate-key`.

The bot must be stopped (its sender lock is checked). Every id column (every column of type
SealedId, the key check's marker among them) and every payload column (SealedBytes: updates
waiting in the inbox) is rewritten in one transaction, so a failure
leaves the database as it was. Then the database is compacted, so that the pages that held the
old bytes are gone from the file: SQLite is vacuumed and its write-ahead log truncated,
PostgreSQL's tables are rewritten by VACUUM FULL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import Column, LargeBinary, bindparam, inspect, select, update
from sqlalchemy.engine import Connection

from bot.storage import Storage
from bot.storage.keys import raw, sealed_columns, sealed_payload_columns
from bot.storage.leader import sender_lock
from bot.storage.sealing import Sealer, SealError, sealer_of


async def rotate_key(storage: Storage, new_key: bytes | None) -> int:
    """Re-seal every id of `storage` (opened with its current key) under `new_key`.

    Returns how many distinct stored values were rewritten. Raises SealError if a bot is
    running on the database.
    """
    old = sealer_of(storage.engine.sync_engine.dialect)
    new = Sealer(new_key)
    async with _bot_stopped(storage):
        async with storage.engine.begin() as connection:
            count = await connection.run_sync(reseal, old, new)
        await _compact(storage)
    return count


def reseal(connection: Connection, old: Sealer, new: Sealer) -> int:
    """Rewrite every id and payload column's values from `old`'s sealing to `new`'s; return
    how many. Tables the database does not have yet (an older schema) are passed over."""
    rewritten = 0
    columns: list[tuple[Column[Any], Callable[[bytes], bytes]]] = [
        *((c, lambda value: new.seal(old.unseal(value))) for c in sealed_columns()),
        *(
            (c, lambda value: new.seal_bytes(old.unseal_bytes(value)))
            for c in sealed_payload_columns()
        ),
    ]
    for column, convert in columns:
        if not connection.dialect.has_table(connection, column.table.name):
            continue
        stored = raw(column)
        values = connection.scalars(select(stored).where(column.is_not(None)).distinct()).all()
        pairs = [{"was": value, "now": convert(value)} for value in values]
        if not pairs:
            continue
        connection.execute(
            update(column.table)
            .where(stored == bindparam("was", type_=LargeBinary))
            .values({column.name: bindparam("now", type_=LargeBinary)}),
            pairs,
        )
        rewritten += len(pairs)
    return rewritten


async def _compact(storage: Storage) -> None:
    """Rewrite the database's files without the old bytes (outside any transaction)."""
    tables = sorted({column.table.name for column in sealed_columns()})
    async with storage.engine.connect() as connection:
        present = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    tables = [table for table in tables if table in present]
    autocommit = storage.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        if storage.dialect == "sqlite":
            await connection.exec_driver_sql("VACUUM")
            for _ in range(10):  # a reader still in the log keeps it: wait for it to leave
                result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = result.scalar()
                if not busy:
                    return
                await asyncio.sleep(0.5)
            raise SealError(
                "the ids were re-sealed, but the write-ahead log still holds old pages (another "
                "process reads the database): stop it, then run sqlite3 on the file with VACUUM"
            )
        else:
            for table in tables:
                await connection.exec_driver_sql(f"VACUUM FULL {table}")


@contextlib.asynccontextmanager
async def _bot_stopped(storage: Storage) -> AsyncIterator[None]:
    """Hold the sender lock while re-sealing; refuse if a running bot holds it."""
    lock = sender_lock(storage.engine)
    try:
        await asyncio.wait_for(lock.acquire(), timeout=3.0)
    except TimeoutError:
        raise SealError(
            "a bot is running on the database (it holds the sender lock): stop every bot "
            "process first, so that no id is written under the old key meanwhile"
        ) from None
    try:
        yield
    finally:
        await lock.release()
