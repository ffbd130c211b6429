"""An organizer's button press, read and checked the one way every organizer button uses."""

from __future__ import annotations

import datetime as dt
import logging

from telegram import CallbackQuery, MaybeInaccessibleMessage, Update, User

from bot import texts
from bot.handlers.context import BotContext
from bot.i18n import gettext as _
from bot.organizing.asking import Organizer, Refused

logger = logging.getLogger(__name__)

CONFIRMATION_TTL = dt.timedelta(minutes=30)
_CONFIRMATIONS = {"send", "halt", "apply", "yes"}  # the presses that act; others ask or undo


async def organizer_press(
    update: Update, context: BotContext
) -> tuple[CallbackQuery, MaybeInaccessibleMessage, User, str, int] | None:
    """Read an organizer's button press `<kind>:<action>:<id>`; None (answered) if refused.

    The presser is checked against BOT_ADMINS at every press: a button's data can be forged,
    and organizers can change between steps.
    """
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    if user.id not in context.services.config.admins:
        await query.answer(_(texts.NOT_ADMIN), show_alert=True)
        logger.warning("refused a button (%s) from a non-organizer", query.data)
        return None
    if query.message is None:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return None
    _prefix, action, number = query.data.split(":")
    # A confirmation is good for CONFIRMATION_TTL after it was asked (Telegram dates the
    # message; a press cannot change that): an old one, found or replayed later, does nothing.
    age = dt.datetime.now(dt.UTC) - query.message.date
    if action in _CONFIRMATIONS and age > CONFIRMATION_TTL:
        minutes = int(CONFIRMATION_TTL.total_seconds() // 60)
        await query.answer(_(texts.CONFIRMATION_EXPIRED).format(minutes=minutes), show_alert=True)
        logger.info("refused an expired confirmation (%s)", query.data)
        return None
    return query, query.message, user, action, int(number)


def organizer_of(user: User) -> Organizer:
    """Return the organizer a chat update comes from (checked against BOT_ADMINS already)."""
    return Organizer(user.id, user.first_name)


async def answer_refusal(
    query: CallbackQuery, message: MaybeInaccessibleMessage, refused: Refused
) -> None:
    """Answer a press an operation refused: as an alert on the button, or in the chat."""
    if refused.alert:
        await query.answer(refused.text, show_alert=True)
        return
    await query.answer()
    await message.chat.send_message(refused.text)
