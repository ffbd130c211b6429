"""Deletes, once an hour, what the bot has kept long enough (bot/storage/retention.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.campaign.content import Content
from bot.delivery.reminders import starts_at
from bot.storage import Forgotten, Periods, Storage

logger = logging.getLogger(__name__)

LOOK_EVERY = 3600.0  # seconds
PLEDGES_KEPT_AFTER = dt.timedelta(days=1)  # an action's pledges, after it started


class Forgetter:
    """Runs the retention rules in the one process that sends broadcasts."""

    def __init__(
        self,
        storage: Storage,
        content: Callable[[], Content],
        periods: Periods,
        *,
        zone: ZoneInfo,
        interval: float = LOOK_EVERY,
    ) -> None:
        self.storage = storage
        self.content = content  # read at each look: /reload may have changed the actions
        self.periods = periods
        self.zone = zone
        self.interval = interval

    async def run(self) -> None:
        """Forget what expired, then again every `interval`, until cancelled."""
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("cannot delete expired rows; trying again in an hour")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> Forgotten:
        """Delete every expired row now; return how many of each went."""
        now = self.storage.clock()
        known, over = set(), set()
        for campaign in self.content().campaigns:
            for action in campaign.actions:
                key = (campaign.id, campaign.action_key(action))
                known.add(key)
                start = starts_at(action, self.zone)
                if start is not None and start + PLEDGES_KEPT_AFTER < now:
                    over.add(key)
        forgotten = await self.storage.forget_expired(self.periods, over=over, known=known)
        if forgotten:
            logger.info(
                "deleted as expired: %d deliveries, %d ended subscriptions, %d language "
                "choices, %d pledges, %d audit entries",
                forgotten.deliveries,
                forgotten.subscriptions,
                forgotten.preferences,
                forgotten.pledges,
                forgotten.audit_entries,
            )
        return forgotten
