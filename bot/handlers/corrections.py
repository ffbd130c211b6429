"""Organizers correcting a sent broadcast in the chat: edit every delivered copy, or delete it
for everyone (bot/organizing/correcting.py does both; the desk calls it too).

From /broadcasts: Edit asks for the corrected text as a reply, shows it with the number of
copies to edit and asks Apply / Cancel; Delete asks before deleting. Every press is checked
against BOT_ADMINS again (presses.organizer_press), a confirmation works once (the correction goes
from draft to running in one statement), and both are audited.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from bot import i18n, texts
from bot.delivery.posts import send_part
from bot.handlers.approvals import tell
from bot.handlers.context import BotContext
from bot.handlers.presses import CONFIRMATION_TTL, answer_refusal, organizer_of, organizer_press
from bot.i18n import gettext as _
from bot.organizing import correcting
from bot.organizing.asking import Refused
from bot.organizing.correcting import Offer, Workers
from bot.storage import BroadcastDraft

logger = logging.getLogger(__name__)


def workers(context: BotContext) -> Workers:
    """Return this process's workers a confirmed correction wakes."""
    return Workers(context.services.sender, context.services.corrector)


async def correction_button(update: Update, context: BotContext) -> None:
    """Answer Edit, Delete and their confirmations, for an organizer only."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, number = pressed
    organizer = organizer_of(user)
    storage = context.storage
    try:
        if action in ("edit", "del"):
            draft, _progress = await correcting.correctable(storage, number)
            if action == "edit":
                correcting.check_editable(draft)
                await query.answer()
                await _ask_for_text(message.chat.id, context, user.id, draft)
                return
            offer = await correcting.offer_delete(storage, organizer, number)
            await query.answer()
            await context.bot.send_message(
                message.chat.id,
                correcting.delete_question(offer),
                reply_markup=_yes_no(texts.BUTTON_DELETE_YES, "yes", "no", offer.correction_id),
            )
            return
        if action in ("cancel", "no"):
            await correcting.cancel(storage, context.bot, organizer, number)
            await query.answer()
            await tell(context, message, _(texts.CORRECTION_CANCELLED))
            return

        async def status() -> tuple[int, int]:
            return message.chat.id, message.message_id  # the confirmation shows the progress

        kind = "edit" if action == "apply" else "delete"
        config, bot = context.services.config, context.bot
        await correcting.confirm(
            storage, config, bot, workers(context), organizer, number, kind, status
        )
    except Refused as refused:
        if refused.alert or action in ("edit", "del"):
            await answer_refusal(query, message, refused)
            return
        await query.answer()  # a confirmation that cannot go: the question says why now
        await tell(context, message, refused.text)
        return
    await query.answer()


async def _ask_for_text(
    chat_id: int, context: BotContext, organizer: int, draft: BroadcastDraft
) -> None:
    """Ask for the corrected text as a reply; remember the question in the database, so the
    reply may reach any process."""
    media = any(isinstance(part, dict) for part in draft.parts)
    ask = texts.EDIT_ASK_CAPTION if media else texts.EDIT_ASK
    question = await context.bot.send_message(
        chat_id, _(ask).format(id=draft.broadcast_id), reply_markup=ForceReply(selective=True)
    )
    await context.storage.create_correction(
        draft.broadcast_id,
        "edit",
        organizer,
        status_chat_id=question.chat.id,
        status_message_id=question.message_id,
    )


def _yes_no(label: str, yes: str, no: str, correction_id: int) -> InlineKeyboardMarkup:
    no_label = texts.BUTTON_STOP_NO if yes == "yes" else texts.BUTTON_CANCEL
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_(label), callback_data=f"fx:{yes}:{correction_id}"),
                InlineKeyboardButton(_(no_label), callback_data=f"fx:{no}:{correction_id}"),
            ]
        ]
    )


async def correction_reply(update: Update, context: BotContext) -> None:
    """Read an organizer's reply to an Edit question: show the corrected broadcast, or say in
    one sentence why it cannot be."""
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    asked = message.reply_to_message
    found = await context.storage.correction_asked_in(message.chat.id, asked.message_id)
    if found is None:
        return  # a reply to something else: not ours
    if dt.datetime.now(dt.UTC) - asked.date > CONFIRMATION_TTL:
        minutes = int(CONFIRMATION_TTL.total_seconds() // 60)
        await message.chat.send_message(_(texts.EDIT_ASK_EXPIRED).format(minutes=minutes))
        return
    user = message.from_user
    assert user is not None
    try:
        offer = await correcting.offer_edit(
            context.storage,
            context.content,
            organizer_of(user),
            found.broadcast_id,
            message.text_html or "",
        )
    except Refused as refused:
        await message.chat.send_message(refused.text)
        return
    await _show_edit(message, context, offer)


async def _show_edit(message: Message, context: BotContext, offer: Offer) -> None:
    """Show each corrected version as readers will see it, with how many copies of it are
    to be edited, and ask Apply / Cancel."""
    for language in offer.changed:
        if len(offer.versions) > 1:
            await message.chat.send_message(
                _(texts.BROADCAST_VERSION).format(
                    language=i18n.spoken_name(language), count=offer.readers[language]
                )
            )
        for part in offer.versions[language]:
            await send_part(context.bot, message.chat.id, part)
    await message.chat.send_message(
        _(texts.EDIT_PREVIEW).format(id=offer.broadcast_id, count=offer.count),
        reply_markup=_yes_no(texts.BUTTON_APPLY, "apply", "cancel", offer.correction_id),
    )


async def correction_approval_button(update: Update, context: BotContext) -> None:
    """Approve or reject another organizer's edit or retraction, once, if still asked for."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, correction_id = pressed
    try:
        text = await correcting.decide(
            context.storage,
            context.bot,
            workers(context),
            organizer_of(user),
            correction_id,
            approve=action == "yes",
        )
    except Refused as refused:
        await answer_refusal(query, message, refused)
        return
    await query.answer()
    await tell(context, message, text)
