"""Reloading the campaign files: served only if every file reads, audited either way."""

from __future__ import annotations

from telegram import Bot

from bot.campaign import render
from bot.campaign.content import Content, ContentError, load_campaigns
from bot.campaign.markup import escape
from bot.config import Config
from bot.delivery import channels
from bot.organizing.desk_menu import place_menu_buttons
from bot.storage import Storage


async def reload(storage: Storage, bot: Bot, config: Config, organizer: int) -> Content:
    """Re-read the campaign files and return them to serve, their channels synced and the
    organizers' menu buttons placed; ContentError (audited) if any is wrong."""
    try:
        content = load_campaigns(config.campaigns_dir)
    except ContentError as error:
        await storage.audit(organizer, "reload_failed", f"{len(error.problems)} problems")
        raise
    await channels.sync(bot, storage, content)
    await place_menu_buttons(bot, storage, config)
    await storage.audit(organizer, "reload", render.summary(content))
    return content


def problem_list(error: ContentError) -> str:
    """Return the first problems of the campaign files, located, for a message."""
    problems = "\n".join(escape(str(p)) for p in error.problems[:20])
    return f"<code>{problems}</code>"
