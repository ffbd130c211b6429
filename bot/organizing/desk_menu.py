"""The "Dashboard" menu button: in each organizer's private chat, and in nobody else's.

Who was given one is in the audit log (`desk_menu_set`, `desk_menu_removed`), so a process
started after an organizer left BOT_ADMINS takes theirs away.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Bot, MenuButtonDefault, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot import i18n, texts
from bot.config import Config
from bot.i18n import gettext as _
from bot.storage import Storage

logger = logging.getLogger(__name__)

GIVEN, TAKEN = "desk_menu_set", "desk_menu_removed"


async def place_menu_buttons(bot: Bot, storage: Storage, config: Config) -> None:
    """Give every organizer the desk's menu button (when DESK_URL is set), labelled in the
    language they chose with /language if they did, and take it from everyone given one who
    is no longer an organizer."""
    latest = await storage.latest_audited((GIVEN, TAKEN))
    holders = {organizer for organizer, action in latest.items() if action == GIVEN}
    keep = config.admins if config.desk_url is not None else frozenset()
    for organizer in sorted(keep):
        with i18n.speaking(await storage.chosen_language(organizer)):
            await give_menu_button(bot, storage, config, organizer, holders)
    for former in sorted(holders - keep):
        if await _set(bot, former, MenuButtonDefault()):
            await storage.audit(former, TAKEN)


async def give_menu_button(
    bot: Bot,
    storage: Storage,
    config: Config,
    organizer: int,
    holders: Collection[int] | None = None,
) -> None:
    """Give one organizer the menu button, labelled in the language spoken now (the one
    their /dashboard or /language came in); `holders`, if known, those given one already."""
    if config.desk_url is None or organizer not in config.admins:
        return
    if holders is None:
        latest = await storage.latest_audited((GIVEN, TAKEN))
        holders = {who for who, action in latest.items() if action == GIVEN}
    button = MenuButtonWebApp(_(texts.DASHBOARD_BUTTON), WebAppInfo(config.desk_url))
    if await _set(bot, organizer, button) and organizer not in holders:
        await storage.audit(organizer, GIVEN, config.desk_url)


async def _set(bot: Bot, chat_id: int, button: MenuButtonWebApp | MenuButtonDefault) -> bool:
    try:
        return await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)
    except TelegramError as error:
        # Telegram refuses a chat until that person has started the bot once.
        logger.warning("menu button not set in chat %d: %s", chat_id, error.message)
        return False
