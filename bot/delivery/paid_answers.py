"""How many answers may take Telegram's paid lane today (issue 20, PAID_ANSWERS_PER_DAY).

Every process of the bot spends from one daily count in the database, taken a few at a time
so that a crowd answered at 1,000 a second does not ask the database for each answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.storage import Storage

logger = logging.getLogger(__name__)

CHUNK = 20  # paid answers a process takes from the day's count at a time


class PaidAllowance:
    """Says yes to a paid answer while today's count allows it (the pacer's `paid_budget`)."""

    def __init__(self, storage: Storage, per_day: int, chunk: int = CHUNK) -> None:
        self.storage = storage
        self.per_day = per_day
        self.chunk = min(chunk, per_day)
        self._day: dt.date | None = None
        self._left = 0  # taken from today's count and not used yet
        self._lock = asyncio.Lock()

    async def __call__(self) -> bool:
        """Spend one paid answer; False once today's are spent (or the database is away)."""
        async with self._lock:
            today = self.storage.clock().date()
            if today != self._day:
                self._day, self._left = today, 0  # what was left of yesterday is gone
            if self._left == 0:
                try:
                    self._left = await self.storage.spend_paid_answers(self.chunk, self.per_day)
                except (OSError, SQLAlchemyError) as error:
                    reason = type(error).__name__
                    logger.warning("paid answers: cannot read today's count (%s)", reason)
                    return False
            if self._left == 0:
                return False
            self._left -= 1
            return True

    async def close(self) -> None:
        """Give back what was taken today and not used, for the other processes."""
        async with self._lock:
            if self._left and self._day == self.storage.clock().date():
                try:
                    await self.storage.spend_paid_answers(-self._left, self.per_day)
                except (OSError, SQLAlchemyError) as error:
                    logger.warning(
                        "paid answers: cannot give back %d (%s)", self._left, type(error).__name__
                    )
            self._left = 0
