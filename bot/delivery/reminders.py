"""Reminders for pledges: a message to everyone who said "I'm in", a while before the action.

An action with a date (and a time; noon if it has none, in TIMEZONE) is due for reminders from
PLEDGE_REMINDER before it starts until it starts. Each pledge is marked reminded in the
database before its message goes out, so a reminder is never sent twice, across restarts and
processes; a crash between the mark and the send loses that one reminder instead. Only the
process that sends broadcasts sends reminders, at the same pace.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import TelegramError

from bot import i18n, texts
from bot.campaign import render
from bot.campaign.content import Action, Content
from bot.delivery.pacing import Pacer
from bot.delivery.sender import send_in_turn
from bot.delivery.turns import BroadcastTurn
from bot.i18n import gettext as _
from bot.storage import Outcome, Storage

logger = logging.getLogger(__name__)

CHECK_EVERY = 30.0  # seconds between looks at what is due
NOON = dt.time(12, 0)


def starts_at(action: Action, zone: ZoneInfo) -> dt.datetime | None:
    """Return when an action starts, in UTC, or None for an undated one."""
    if action.date is None:
        return None
    local = dt.datetime.combine(action.date, action.time or NOON, tzinfo=zone)
    return local.astimezone(dt.UTC)


class Reminders:
    """Sends what is due; `run_once` is what the loop does every CHECK_EVERY seconds."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        content: Callable[[], Content],
        *,
        lead: dt.timedelta,
        zone: ZoneInfo,
        pacer: Pacer,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.content = content  # read at each look: /reload may have changed the actions
        self.lead = lead
        self.zone = zone
        self.pacer = pacer

    async def run(self) -> None:
        """Look for due reminders until cancelled; a failed look is logged and retried."""
        while True:
            try:
                await self.run_once(self.storage.clock())
            except Exception:
                logger.exception("cannot send pledge reminders; trying again shortly")
            await asyncio.sleep(CHECK_EVERY)

    async def run_once(self, now: dt.datetime) -> int:
        """Send every reminder due at `now`; return how many went out."""
        sent = 0
        for campaign in self.content().campaigns:
            for index, action in enumerate(campaign.actions):
                start = starts_at(action, self.zone)
                if start is None or not start - self.lead <= now < start:
                    continue
                key = campaign.action_key(action)
                for chat_id, language in await self.storage.claim_reminders(campaign.id, key):
                    # Each person is reminded in their language, as they read the action.
                    with i18n.speaking(language, fallback=campaign.language):
                        sent += await self._remind(
                            chat_id, campaign.in_language(language).actions[index]
                        )
        return sent

    async def _remind(self, chat_id: int, action: Action) -> int:
        turn = BroadcastTurn(self.pacer)
        await turn.take()
        text = _(texts.REMINDER).format(action=render.action(action))
        try:
            # The broadcasts' way: a 429 or Telegram out of reach waits and tries again.
            outcome, error = await send_in_turn(self.bot, turn, self.storage, chat_id, text)
        except TelegramError as migrated:  # ChatMigrated: reminders go to people, not groups
            outcome, error = Outcome.FAILED, migrated.message
        if outcome is Outcome.FAILED:
            logger.warning("a pledge reminder was not delivered: %s", error)
        return 1 if outcome is Outcome.SENT else 0
