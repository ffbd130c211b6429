"""Two organizers for big sends: over APPROVAL_THRESHOLD recipients, the first organizer's
Send asks the others, and one of them must approve (docs/privacy.md, "Who can learn what")."""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    MaybeInaccessibleMessage,
    Update,
)
from telegram.error import TelegramError

from bot.handlers.context import BotContext
from bot.handlers.presses import answer_refusal, organizer_of, organizer_press
from bot.organizing import sending
from bot.organizing.asking import Refused

logger = logging.getLogger(__name__)


async def approval_button(update: Update, context: BotContext) -> None:
    """Approve or reject another organizer's broadcast, once, if still asked for."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, broadcast_id = pressed
    try:
        text = await sending.decide(
            context.storage,
            context.bot,
            context.services.sender,
            organizer_of(user),
            broadcast_id,
            approve=action == "yes",
        )
    except Refused as refused:
        await answer_refusal(query, message, refused)
        return
    await query.answer()
    await tell(context, message, text)


async def tell(context: BotContext, message: MaybeInaccessibleMessage, text: str) -> None:
    """Put a decision in the message that asked for it."""
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_text(text, message.chat.id, message.message_id)
