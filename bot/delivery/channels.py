"""The channels campaigns name, by numeric id: @usernames are looked up through Telegram."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.campaign.content import Content
from bot.storage import Storage

logger = logging.getLogger(__name__)


async def channel_ids(bot: Bot, content: Content) -> dict[str, list[int]]:
    """Return each campaign's channels by numeric id, looking @usernames up.

    A campaign with a name Telegram does not find now (a typo, the bot not yet in the channel,
    Telegram unreachable) is left out, so its channels are kept as they were, not dropped.
    """
    found: dict[str, int] = {}
    channels: dict[str, list[int]] = {}
    for campaign in content.campaigns:
        ids: list[int] = []
        for channel in campaign.channels:
            if isinstance(channel, str) and channel not in found:
                try:
                    found[channel] = (await bot.get_chat(channel)).id
                except TelegramError as error:
                    logger.warning(
                        "channel %s of campaign %s not found (%s): its channels are kept as "
                        "they were",
                        channel,
                        campaign.id,
                        error,
                    )
                    break
            ids.append(found[channel] if isinstance(channel, str) else channel)
        else:
            channels[campaign.id] = ids
    return channels


async def sync(bot: Bot, storage: Storage, content: Content) -> None:
    """Make the channels the campaign files name recipients of their broadcasts, and only those."""
    await storage.sync_channels(await channel_ids(bot, content))
