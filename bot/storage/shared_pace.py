"""Telegram's 30 messages a second for the whole bot, shared by every process on one PostgreSQL.

Telegram's limits are per bot token, so with several processes (webhook mode behind a proxy) the
overall slot and a 429's pause must be booked in one place. The place is a row of an UNLOGGED
table in the bot's own PostgreSQL database: no new server to run, nothing written to the WAL,
and nothing about people in it (a lane name and two times). Times are the database server's,
so the processes' clocks need not agree. The table is made at start-up if it is missing.

A process that cannot reach the row (the database away) paces alone for a few seconds at a
time and says so once; sends go on, and a 429 that may then come is waited out and tried again
like any other. The row is made again if it is gone (PostgreSQL empties an UNLOGGED table after
a crash).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

ALONE_FOR = 5.0  # seconds a process paces alone before it asks the database again
_ALREADY_MADE = {"42P07", "23505"}  # duplicate table; duplicate type name (made concurrently)

TABLE = "send_pace"  # not the bot's schema: no migration makes or changes it
_NOW = "extract(epoch FROM clock_timestamp())::float8"
_CREATE = """
CREATE UNLOGGED TABLE IF NOT EXISTS send_pace (
    lane text PRIMARY KEY,
    next_slot double precision NOT NULL,
    paused_until double precision NOT NULL
)
"""
_SEED = "INSERT INTO send_pace VALUES ('free', 0, 0) ON CONFLICT DO NOTHING"
# An answer books the next slot at once: it returns how long until that slot comes.
_BOOK = f"""
WITH clock AS (SELECT {_NOW} AS now)
UPDATE send_pace
SET next_slot = GREATEST(next_slot, clock.now - :catch_up, paused_until) + :interval
FROM clock WHERE lane = 'free'
RETURNING next_slot - :interval - clock.now
"""
# A broadcast takes a slot only when none is booked ahead: 0 if it took one, else how long
# until the booked ones have gone.
_TAKE_IF_FREE = f"""
WITH clock AS (SELECT {_NOW} AS now),
taken AS (
    UPDATE send_pace SET next_slot = GREATEST(next_slot, clock.now - :catch_up) + :interval
    FROM clock
    WHERE lane = 'free' AND next_slot <= clock.now AND paused_until <= clock.now
    RETURNING 0.0::float8 AS wait
)
SELECT wait FROM taken
UNION ALL
SELECT GREATEST(GREATEST(next_slot, paused_until) - clock.now, 0.001) FROM send_pace, clock
WHERE lane = 'free' AND NOT EXISTS (SELECT FROM taken)
"""
# (That SELECT sees the row as it was before an answer's booking the UPDATE waited for: it may
# say the slot is free when the UPDATE just found it was not. It never says 0, which only a
# taken slot does, so such a lost race is tried again a millisecond later.)
_PAUSE = f"""
UPDATE send_pace SET paused_until = GREATEST(paused_until, {_NOW} + :seconds)
WHERE lane = 'free'
RETURNING paused_until - {_NOW}
"""


def in_schema(name: str | None, type_: str, parent_names: object) -> bool:
    """Tell Alembic's comparisons which tables are the schema's (all but the pace's)."""
    return not (type_ == "table" and name == TABLE)


class SharedPace:
    """The free lane's slots and pauses, booked in PostgreSQL for every process at once."""

    def __init__(self, engine: AsyncEngine, rate: float, catch_up: float) -> None:
        self.engine = engine
        self.interval = 1.0 / rate
        self.catch_up = catch_up
        self._alone_until = 0.0  # the database could not be reached: pacing alone till then
        self._alone = False

    async def start(self) -> None:
        """Make the table and its row if this is the first process to use them."""
        try:
            async with self.engine.begin() as connection:
                await connection.execute(text(_CREATE))
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) not in _ALREADY_MADE:
                raise
            logger.debug("the shared send pace's table was made by another process just now")
        async with self.engine.begin() as connection:
            await connection.execute(text(_SEED))

    async def book(self) -> float | None:
        """Book the next slot; return seconds until it, or None if pacing alone."""
        return await self._ask(_BOOK)

    async def take_if_free(self) -> float | None:
        """Take a slot no answer has booked: 0 if taken, else seconds to wait; None if alone."""
        return await self._ask(_TAKE_IF_FREE)

    async def pause(self, seconds: float) -> None:
        """Hold every process's sends for `seconds`."""
        await self._ask(_PAUSE, seconds=seconds)

    async def _ask(self, statement: str, **values: float) -> float | None:
        if time.monotonic() < self._alone_until:
            return None
        params = {"interval": self.interval, "catch_up": self.catch_up, **values}
        try:
            async with self.engine.begin() as connection:
                wait = await self._answer(connection, statement, params)
        except (OSError, SQLAlchemyError) as error:  # away, refusing, or its pool exhausted
            if not self._alone:
                logger.warning(
                    "cannot reach the shared send pace (%s); this process paces alone",
                    type(error).__name__,
                )
            self._alone, self._alone_until = True, time.monotonic() + ALONE_FOR
            return None
        if self._alone:
            logger.info("the shared send pace is back")
            self._alone = False
        return wait

    async def _answer(
        self, connection: AsyncConnection, statement: str, params: dict[str, float]
    ) -> float:
        wait = (await connection.execute(text(statement), params)).scalar()
        if wait is None:  # the row is gone: the server restarted after a crash
            logger.warning("the shared send pace's row was gone; made anew")
            await connection.execute(text(_SEED))
            wait = (await connection.execute(text(statement), params)).scalar()
        return self.interval if wait is None else float(wait)  # None: cannot be, but wait
