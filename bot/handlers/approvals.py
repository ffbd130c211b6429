"""Two organizers for big sends: over APPROVAL_THRESHOLD recipients, the first organizer's
Send asks the others, and one of them must approve (docs/privacy.md, "Who can learn what")."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Update,
    User,
)
from telegram.error import TelegramError

from bot import texts
from bot.campaign.markup import escape
from bot.delivery.posts import send_part
from bot.delivery.sender import stop_button
from bot.handlers.context import BotContext
from bot.handlers.presses import organizer_press
from bot.i18n import gettext as _
from bot.storage import BroadcastDraft, CorrectionRecord

logger = logging.getLogger(__name__)

APPROVAL_TTL = dt.timedelta(hours=24)  # a request not decided by then cannot be approved


async def held_for_approval(
    query: CallbackQuery,
    context: BotContext,
    message: MaybeInaccessibleMessage,
    user: User,
    broadcast_id: int,
) -> bool:
    """On Send: if the broadcast needs a second organizer, ask the others and return True
    (the press is answered); else return False and let it go out."""
    threshold = context.services.config.approval_threshold
    storage = context.storage
    draft = await storage.broadcast(broadcast_id)
    if not threshold or draft is None or draft.state != "draft":
        return False
    count = await storage.count_recipients(draft.campaign_id, draft.audience)
    if count <= threshold:
        return False
    await query.answer()
    others = sorted(context.services.config.admins - {user.id})
    if not others:
        await message.chat.send_message(
            _(texts.APPROVAL_NOBODY).format(count=count, threshold=threshold)
        )
        return True
    if not await storage.ask_approval(broadcast_id, message.chat.id, message.message_id):
        return True  # a second press: the first asked already
    detail = f"broadcast {broadcast_id}: {count} recipients"
    await storage.audit(user.id, "broadcast_approval_asked", detail)
    reached = 0
    for organizer in others:
        reached += await _ask(context, organizer, draft, user, count)
    waiting = _(texts.APPROVAL_WAITING).format(
        id=broadcast_id,
        campaign=escape(draft.campaign_id),
        count=count,
        hours=int(APPROVAL_TTL.total_seconds() // 3600),
    )
    if not reached:
        waiting += "\n" + _(texts.APPROVAL_UNREACHABLE)
    cancel = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_(texts.BUTTON_CANCEL), callback_data=f"bc:cancel:{broadcast_id}")]]
    )
    await context.bot.edit_message_text(
        waiting, message.chat.id, message.message_id, reply_markup=cancel
    )
    return True


async def _ask(
    context: BotContext, organizer: int, draft: BroadcastDraft, author: User, count: int
) -> int:
    """Show one organizer the broadcast as subscribers will get it, with Approve / Reject;
    return 1 if it reached them (they must have started a chat with the bot)."""
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _(texts.BUTTON_APPROVE), callback_data=f"ap:yes:{draft.broadcast_id}"
                ),
                InlineKeyboardButton(
                    _(texts.BUTTON_REJECT), callback_data=f"ap:no:{draft.broadcast_id}"
                ),
            ]
        ]
    )
    try:
        for version in (draft.parts, *draft.translations.values()):
            for part in version:
                await send_part(context.bot, organizer, part)
        await context.bot.send_message(
            organizer,
            _(texts.APPROVAL_ASK).format(
                who=who(author),
                id=draft.broadcast_id,
                count=count,
                campaign=escape(draft.campaign_id),
            ),
            reply_markup=buttons,
        )
    except TelegramError as error:
        logger.warning("could not ask an organizer for approval: %s", error.message)
        return 0
    return 1


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
    others = sorted(context.services.config.admins - {user.id})
    if not others:
        await message.chat.send_message(
            _(texts.CORRECTION_NOBODY).format(count=copies, threshold=threshold)
        )
        return True
    chat_id, message_id = message.chat.id, message.message_id
    if not await storage.ask_correction_approval(record.correction_id, chat_id, message_id):
        return True  # a second press: the first asked already
    detail = f"correction {record.correction_id} of broadcast {record.broadcast_id}: {copies}"
    await storage.audit(user.id, "correction_approval_asked", detail)
    reached = 0
    for organizer in others:
        reached += await _ask_about(context, organizer, record, user, copies)
    waiting = _(texts.CORRECTION_WAITING).format(
        id=record.broadcast_id, count=copies, hours=int(APPROVAL_TTL.total_seconds() // 3600)
    )
    if not reached:
        waiting += "\n" + _(texts.APPROVAL_UNREACHABLE)
    cancel = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _(texts.BUTTON_CANCEL), callback_data=f"fx:cancel:{record.correction_id}"
                )
            ]
        ]
    )
    await context.bot.edit_message_text(waiting, chat_id, message_id, reply_markup=cancel)
    return True


async def _ask_about(
    context: BotContext, organizer: int, record: CorrectionRecord, author: User, copies: int
) -> int:
    """Show one organizer an edit (as its copies will read) or a retraction, with Approve /
    Reject; return 1 if it reached them."""
    cid = record.correction_id
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_(texts.BUTTON_APPROVE), callback_data=f"ax:yes:{cid}"),
                InlineKeyboardButton(_(texts.BUTTON_REJECT), callback_data=f"ax:no:{cid}"),
            ]
        ]
    )
    ask = texts.CORRECTION_ASK_EDIT if record.kind == "edit" else texts.CORRECTION_ASK_DELETE
    try:
        if record.corrected is not None:
            versions = [record.corrected["parts"], *record.corrected["translations"].values()]
            for version in versions:
                for part in version:
                    await send_part(context.bot, organizer, part)
        await context.bot.send_message(
            organizer,
            _(ask).format(who=who(author), id=record.broadcast_id, count=copies),
            reply_markup=buttons,
        )
    except TelegramError as error:
        logger.warning("could not ask an organizer for approval: %s", error.message)
        return 0
    return 1


def who(user: User) -> str:
    return f"{escape(user.first_name)} ({user.id})"


async def approval_button(update: Update, context: BotContext) -> None:
    """Approve or reject another organizer's broadcast, once, if still asked for."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, broadcast_id = pressed
    storage = context.storage
    draft = await storage.broadcast(broadcast_id)
    if draft is None or draft.state != "awaiting":
        await query.answer(_(texts.BROADCAST_ALREADY), show_alert=True)
        return
    if draft.created_by == user.id:
        await query.answer(_(texts.APPROVAL_OWN), show_alert=True)
        return
    if action == "no":
        if not await storage.reject(broadcast_id, user.id):
            await query.answer(_(texts.BROADCAST_ALREADY), show_alert=True)
            return
        await query.answer()
        await storage.audit(user.id, "broadcast_reject", f"broadcast {broadcast_id}")
        await tell(context, message, _(texts.REJECTED_BY_YOU).format(id=broadcast_id))
        await _tell_author(
            context, broadcast_id, _(texts.REJECTED_NOTICE).format(id=broadcast_id, who=who(user))
        )
        return
    total = await storage.approve(broadcast_id, user.id, storage.clock() - APPROVAL_TTL)
    if total is None:
        hours = int(APPROVAL_TTL.total_seconds() // 3600)
        await query.answer(_(texts.APPROVAL_EXPIRED).format(hours=hours), show_alert=True)
        return
    await query.answer()
    await storage.audit(user.id, "broadcast_approve", f"broadcast {broadcast_id}: {total}")
    await tell(context, message, _(texts.APPROVED_BY_YOU).format(id=broadcast_id, total=total))
    notice = _(texts.APPROVED_NOTICE).format(id=broadcast_id, who=who(user), total=total)
    if draft.send_at is not None:
        await _tell_author(context, broadcast_id, notice, stop_button(broadcast_id))
    else:
        await _tell_author(context, broadcast_id, notice)
        if context.services.sender is not None:
            context.services.sender.wake(broadcast_id)  # it edits the author's message now


async def tell(context: BotContext, message: MaybeInaccessibleMessage, text: str) -> None:
    """Put a decision in the message that asked for it."""
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_text(text, message.chat.id, message.message_id)


async def _tell_author(
    context: BotContext,
    broadcast_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Put the decision in the author's status message (where the progress will show)."""
    progress = await context.storage.progress(broadcast_id)
    if progress is None or progress.status_message_id is None:
        return
    assert progress.status_chat_id is not None
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_text(
            text, progress.status_chat_id, progress.status_message_id, reply_markup=markup
        )
