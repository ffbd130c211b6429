"""Which process sends the broadcasts: exactly one per database, chosen by the database.

Telegram's limits are per bot token, so however many processes take updates, one sends. On
PostgreSQL the sender holds an advisory lock on a connection of its own: when the process dies,
its connection closes and the lock is free at once; if the process vanishes from the network
instead, the server's TCP keepalives free it within about 15 seconds. On SQLite (one machine)
the lock is an flock on a file beside the database, freed by the kernel when the process dies.
The others try again every `poll` seconds.

Holding the lock is not what makes sending safe: every recipient is claimed and marked in the
database before it is sent (bot/storage/outbox.py), so even two senders at once could not take the
same row. The lock keeps the pace: two senders would each go at the full rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

_LOCK_KEY = 0x5B_5E4D  # the advisory lock's number: "the sender" of this database
# Ask the server to probe an idle holder after 5 s, every 2 s, and give up after 4 misses.
_KEEPALIVES = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 4}
# How often the holder checks its own connection, and how long that check may take.
CHECK_EVERY = 2.0


class SenderLock(Protocol):
    """A lock only one process at a time can hold."""

    async def acquire(self) -> None:
        """Return once this process holds the lock."""

    async def lost(self) -> None:
        """Return when the lock is lost (its connection failed)."""

    async def release(self) -> None:
        """Let another process take the lock."""


class PostgresLock:
    """A session-level advisory lock on a connection kept for it alone."""

    def __init__(self, engine: AsyncEngine, *, poll: float = 1.0) -> None:
        self.engine = engine
        self.poll = poll
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> None:
        while True:
            connection = None
            try:
                connection = await self.engine.connect()
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                for name, value in _KEEPALIVES.items():
                    await connection.execute(text(f"SET {name} = {value}"))
                while True:
                    got = await connection.scalar(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": _LOCK_KEY}
                    )
                    if got:
                        self._connection = connection
                        return
                    await asyncio.sleep(self.poll)
            except Exception:  # the database is away: keep trying
                logger.warning("cannot reach the database to take the sender lock; retrying")
                if connection is not None:
                    await _close(connection)
                await asyncio.sleep(self.poll)
            except BaseException:  # cancelled while waiting: give the connection back
                if connection is not None:
                    await _close(connection)
                raise

    async def lost(self) -> None:
        connection = self._connection
        assert connection is not None
        while True:
            await asyncio.sleep(CHECK_EVERY)
            try:
                async with asyncio.timeout(CHECK_EVERY):
                    await connection.execute(text("SELECT 1"))
            except Exception:  # its session is gone, and the lock with it
                return

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
        await _close(connection)


class FileLock:
    """An exclusive flock on a file: one sender per SQLite database on this machine."""

    def __init__(self, path: Path, *, poll: float = 1.0) -> None:
        self.path = path
        self.poll = poll
        self._file: IO[bytes] | None = None
        self._never = asyncio.Event()

    async def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("ab")
        try:
            while True:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    await asyncio.sleep(self.poll)
                    continue
                self._file = file
                return
        except BaseException:  # cancelled while waiting
            file.close()
            raise

    async def lost(self) -> None:
        await self._never.wait()  # the kernel holds it for as long as the process lives

    async def release(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            fcntl.flock(file, fcntl.LOCK_UN)
            file.close()


class NoLock:
    """For a database only this process can see (SQLite in memory)."""

    async def acquire(self) -> None:
        return

    async def lost(self) -> None:
        await asyncio.Event().wait()

    async def release(self) -> None:
        return


def sender_lock(engine: AsyncEngine, poll: float = 1.0) -> SenderLock:
    """Return the lock that elects the sender for this database."""
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine, poll=poll)
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        return FileLock(path.with_name(path.name + ".sender-lock"), poll=poll)
    return NoLock()


async def _close(connection: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await connection.invalidate()  # do not hand a connection in this state to the pool
    with contextlib.suppress(Exception):
        await connection.close()
