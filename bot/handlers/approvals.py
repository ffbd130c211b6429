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
from bot.delivery.posts import Part, send_part
from bot.delivery.sender import stop_button
from bot.handlers.context import BotContext
from bot.handlers.presses import organizer_press
from bot.i18n import gettext as _
from bot.storage import CorrectionRecord

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
    if not _others(context, user):
        nobody = _(texts.APPROVAL_NOBODY).format(count=count, threshold=threshold)
        await message.chat.send_message(nobody)
        return True
    if not await storage.ask_approval(broadcast_id, message.chat.id, message.message_id):
        return True  # a second press: the first asked already
    detail = f"broadcast {broadcast_id}: {count} recipients"
    await storage.audit(user.id, "broadcast_approval_asked", detail)
    campaign = escape(draft.campaign_id)
    await _ask_others(
        context,
        message,
        user,
        versions=[draft.parts, *draft.translations.values()],
        question=_(texts.APPROVAL_ASK).format(
            who=who(user), id=broadcast_id, count=count, campaign=campaign
        ),
        buttons=f"ap:{{}}:{broadcast_id}",
        waiting=_(texts.APPROVAL_WAITING).format(
            id=broadcast_id, campaign=campaign, count=count, hours=_hours()
        ),
        cancel=f"bc:cancel:{broadcast_id}",
    )
    return True


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
    if not _others(context, user):
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
    await _ask_others(
        context,
        message,
        user,
        versions=[corrected["parts"], *corrected["translations"].values()],
        question=_(ask).format(who=who(user), id=record.broadcast_id, count=copies),
        buttons=f"ax:{{}}:{cid}",
        waiting=_(texts.CORRECTION_WAITING).format(
            id=record.broadcast_id, count=copies, hours=_hours()
        ),
        cancel=f"fx:cancel:{cid}",
    )
    return True


def _others(context: BotContext, user: User) -> list[int]:
    """Return the organizers who could approve what `user` asks."""
    return sorted(context.services.config.admins - {user.id})


def _hours() -> int:
    return int(APPROVAL_TTL.total_seconds() // 3600)


async def _ask_others(
    context: BotContext,
    message: MaybeInaccessibleMessage,
    user: User,
    *,
    versions: list[list[Part]],
    question: str,
    buttons: str,
    waiting: str,
    cancel: str,
) -> None:
    """Show every other organizer what would go out (`versions`, as subscribers will get it)
    and `question` with Approve / Reject (callback data `buttons` with yes or no in its {});
    then put `waiting`, with a Cancel button, in the author's message."""
    decide = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_(texts.BUTTON_APPROVE), callback_data=buttons.format("yes")),
                InlineKeyboardButton(_(texts.BUTTON_REJECT), callback_data=buttons.format("no")),
            ]
        ]
    )
    reached = 0
    for organizer in _others(context, user):
        try:
            for version in versions:
                for part in version:
                    await send_part(context.bot, organizer, part)
            await context.bot.send_message(organizer, question, reply_markup=decide)
            reached += 1
        except TelegramError as error:  # they never started a chat with the bot, say
            logger.warning("could not ask an organizer for approval: %s", error.message)
    if not reached:
        waiting += "\n" + _(texts.APPROVAL_UNREACHABLE)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_(texts.BUTTON_CANCEL), callback_data=cancel)]]
    )
    await context.bot.edit_message_text(
        waiting, message.chat.id, message.message_id, reply_markup=markup
    )


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
