"""Two organizers for big sends: over APPROVAL_THRESHOLD recipients, the first organizer's
Send asks the others, and one of them must approve (docs/privacy.md, "Who can learn what")."""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    CallbackQuery,
    MaybeInaccessibleMessage,
    Update,
    User,
)
from telegram.error import TelegramError

from bot import texts
from bot.handlers.context import BotContext
from bot.handlers.presses import answer_refusal, organizer_of, organizer_press
from bot.i18n import gettext as _
from bot.organizing import sending
from bot.organizing.asking import Refused, ask_others, hours, others
from bot.storage import CorrectionRecord

logger = logging.getLogger(__name__)


async def correction_held(
    query: CallbackQuery,
    context: BotContext,
    message: MaybeInaccessibleMessage,
    user: User,
    record: CorrectionRecord,
) -> bool:
    """On Apply (an edit) or Yes (a retraction): if it changes more copies than
    APPROVAL_THRESHOLD, ask the other organizers and return True (the press is answered)."""
    threshold = context.services.config.approval_threshold
    storage = context.storage
    if not threshold:
        return False
    copies = sum((await storage.delivered_languages(record.broadcast_id)).values())
    if copies <= threshold:
        return False
    await query.answer()
    if not others(context.services.config, organizer_of(user)):
        nobody = _(texts.CORRECTION_NOBODY).format(count=copies, threshold=threshold)
        await message.chat.send_message(nobody)
        return True
    cid = record.correction_id
    if not await storage.ask_correction_approval(cid, message.chat.id, message.message_id):
        return True  # a second press: the first asked already
    detail = f"correction {cid} of broadcast {record.broadcast_id}: {copies}"
    await storage.audit(user.id, "correction_approval_asked", detail)
    corrected = record.corrected or {"parts": [], "translations": {}}  # a retraction: none
    ask = texts.CORRECTION_ASK_EDIT if record.kind == "edit" else texts.CORRECTION_ASK_DELETE
    await ask_others(
        context.bot,
        context.services.config,
        organizer_of(user),
        (message.chat.id, message.message_id),
        versions=[corrected["parts"], *corrected["translations"].values()],
        question=_(ask).format(who=who(user), id=record.broadcast_id, count=copies),
        buttons=f"ax:{{}}:{cid}",
        waiting=_(texts.CORRECTION_WAITING).format(
            id=record.broadcast_id, count=copies, hours=hours()
        ),
        cancel=f"fx:cancel:{cid}",
    )
    return True


def who(user: User) -> str:
    """Return how other organizers see an organizer named: "Ana (42)"."""
    return organizer_of(user).who


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
