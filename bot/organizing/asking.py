"""Who organizers are, how an action is refused, and how a second organizer is asked.

An operation of bot/organizing takes the organizer acting (`Organizer`, from a chat update or
the desk's checked initData) and raises `Refused` with the one sentence both faces show.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot import texts
from bot.campaign.markup import escape
from bot.config import Config
from bot.delivery.posts import Part, send_part
from bot.i18n import gettext as _
from bot.storage import Storage

logger = logging.getLogger(__name__)

APPROVAL_TTL = dt.timedelta(hours=24)  # a request not decided by then cannot be approved


class Refused(Exception):
    """An organizer's action that does not happen; says why in the organizer's language.

    `alert`: the chat shows it as an alert on the button pressed (else as a message).
    """

    def __init__(self, text: str, *, alert: bool = True) -> None:
        super().__init__(text)
        self.text = text
        self.alert = alert


@dataclass(frozen=True)
class Organizer:
    """The organizer acting: their id, and the first name Telegram shows (never stored)."""

    id: int
    name: str

    @property
    def who(self) -> str:
        """Return how other organizers see them named: "Ana (42)"."""
        return f"{escape(self.name)} ({self.id})"


def others(config: Config, organizer: Organizer) -> list[int]:
    """Return the organizers who could approve what `organizer` asks."""
    return sorted(config.admins - {organizer.id})


def hours() -> int:
    """Return how many hours a request for approval stays open."""
    return int(APPROVAL_TTL.total_seconds() // 3600)


async def ask_others(
    bot: Bot,
    config: Config,
    organizer: Organizer,
    where: tuple[int, int],
    *,
    versions: Sequence[Sequence[Part]],
    question: str,
    buttons: str,
    waiting: str,
    cancel: str,
) -> list[tuple[int, int]]:
    """Show every other organizer what would go out (`versions`, as subscribers will get it)
    and `question` with Approve / Reject (callback data `buttons` with yes or no in its {});
    then put `waiting`, with a Cancel button, in the author's message at `where`. Return the
    (chat, message id) of each question sent, for `settle_asks`."""
    decide = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_(texts.BUTTON_APPROVE), callback_data=buttons.format("yes")),
                InlineKeyboardButton(_(texts.BUTTON_REJECT), callback_data=buttons.format("no")),
            ]
        ]
    )
    asked = []
    for other in others(config, organizer):
        try:
            for version in versions:
                for part in version:
                    await send_part(bot, other, part)
            message = await bot.send_message(other, question, reply_markup=decide)
            asked.append((other, message.message_id))
        except TelegramError as error:  # they never started a chat with the bot, say
            logger.warning("could not ask an organizer for approval: %s", error.message)
    if not asked:
        waiting += "\n" + _(texts.APPROVAL_UNREACHABLE)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_(texts.BUTTON_CANCEL), callback_data=cancel)]]
    )
    await bot.edit_message_text(waiting, *where, reply_markup=markup)
    return asked


async def settle_asks(
    storage: Storage, bot: Bot, subject: str, subject_id: int, outcome: str
) -> None:
    """Put what became of a request (`outcome`) in every message that asked for its
    approval, in place of the Approve / Reject buttons: decided in the chat or the desk, or
    withdrawn, the others see it there."""
    for chat_id, message_id in await storage.take_asks(subject, subject_id):
        try:
            await bot.edit_message_text(outcome, chat_id, message_id)
        except TelegramError as error:  # deleted by the organizer, say: nothing to show
            logger.info("an approval request's message not updated: %s", error.message)
