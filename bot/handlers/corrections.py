"""Organizers correcting a sent broadcast: edit every delivered copy, or delete it for everyone.

From /broadcasts: Edit asks for the corrected text as a reply, shows it with the number of
copies to edit and asks Apply / Cancel; Delete asks before deleting. Every press is checked
against BOT_ADMINS again (presses.organizer_press), a confirmation works once (the correction goes
from draft to running in one statement), and both are audited. The work itself is done by
bot/delivery/corrections.py in the process that sends broadcasts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    Update,
    User,
)
from telegram.error import TelegramError

from bot import i18n, texts
from bot.campaign.markup import pack_messages, telegram_length
from bot.delivery.corrections import DELETE_WINDOW
from bot.delivery.posts import Part, ShapeError, corrected_parts, send_part
from bot.handlers.approvals import correction_held, tell, who
from bot.handlers.context import BotContext
from bot.handlers.presses import CONFIRMATION_TTL, organizer_press
from bot.i18n import gettext as _
from bot.organizing.asking import APPROVAL_TTL
from bot.organizing.broadcasts import reached_anyone
from bot.organizing.sending import split_languages
from bot.storage import BroadcastDraft, CorrectionRecord, Progress, text_of, version_for

logger = logging.getLogger(__name__)


async def correction_button(update: Update, context: BotContext) -> None:
    """Answer Edit, Delete and their confirmations, for an organizer only."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, number = pressed
    if action in ("edit", "del"):
        draft = await context.storage.broadcast(number)
        progress = await context.storage.progress(number)
        if draft is None or progress is None or not reached_anyone(progress):
            await query.answer(_(texts.CORRECTION_NOTHING).format(id=number), show_alert=True)
            return
        await query.answer()
        assert isinstance(message, Message)
        if action == "edit":
            await _ask_for_text(message, context, user.id, draft)
        else:
            await _ask_to_delete(message, context, user.id, progress)
        return
    await _confirm(query, message, context, user, action, number)


async def _ask_for_text(
    message: Message, context: BotContext, organizer: int, draft: BroadcastDraft
) -> None:
    """Ask for the corrected text as a reply; remember the question in the database, so the
    reply may reach any process."""
    if _has_poll(draft):
        await message.chat.send_message(_(texts.EDIT_REFUSED_POLL).format(id=draft.broadcast_id))
        return
    media = any(isinstance(part, dict) for part in draft.parts)
    ask = texts.EDIT_ASK_CAPTION if media else texts.EDIT_ASK
    question = await message.chat.send_message(
        _(ask).format(id=draft.broadcast_id), reply_markup=ForceReply(selective=True)
    )
    await context.storage.create_correction(
        draft.broadcast_id,
        "edit",
        organizer,
        status_chat_id=question.chat.id,
        status_message_id=question.message_id,
    )


def _has_poll(draft: BroadcastDraft) -> bool:
    versions = [draft.parts, *draft.translations.values()]
    return any(isinstance(p, dict) and p["type"] == "poll" for v in versions for p in v)


async def _ask_to_delete(
    message: Message, context: BotContext, organizer: int, progress: Progress
) -> None:
    """Ask before deleting every copy; refuse at once past Telegram's 48 hours."""
    broadcast_id = progress.broadcast_id
    if _too_late(context, progress):
        await message.chat.send_message(_(texts.DELETE_TOO_LATE).format(id=broadcast_id))
        return
    delivered = sum((await context.storage.delivered_languages(broadcast_id)).values())
    correction_id = await context.storage.create_correction(
        broadcast_id, "delete", organizer, report_language=i18n.interface_language()
    )
    question = _(texts.DELETE_CONFIRM).format(id=broadcast_id, count=delivered)
    if progress.state == "sending":
        question += _(texts.DELETE_CONFIRM_SENDING)
    await message.chat.send_message(
        question, reply_markup=_yes_no(texts.BUTTON_DELETE_YES, "yes", "no", correction_id)
    )


def _too_late(context: BotContext, progress: Progress) -> bool:
    started = progress.started_at or progress.created_at
    return context.storage.clock() - started > DELETE_WINDOW


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


# The press that confirms each kind of correction: Apply an edit, Yes to a deletion.
_CONFIRMS = {"apply": "edit", "yes": "delete"}


async def _confirm(
    query: CallbackQuery,
    message: MaybeInaccessibleMessage,
    context: BotContext,
    user: User,
    action: str,
    correction_id: int,
) -> None:
    """Apply (or drop) a correction awaiting confirmation, once."""
    chat_id, message_id = message.chat.id, message.message_id
    storage = context.storage
    if action in ("cancel", "no"):
        if not await storage.cancel_correction(correction_id):
            await query.answer(_(texts.CORRECTION_ALREADY), show_alert=True)
            return
        await query.answer()
        await context.bot.edit_message_text(_(texts.CORRECTION_CANCELLED), chat_id, message_id)
        return
    record = await storage.correction(correction_id)
    if record is None or record.state != "draft" or record.kind != _CONFIRMS[action]:
        await query.answer(_(texts.CORRECTION_ALREADY), show_alert=True)
        return
    broadcast_id = record.broadcast_id
    if record.kind == "delete":
        progress = await storage.progress(broadcast_id)
        if progress is not None and _too_late(context, progress):
            await query.answer()
            await context.bot.edit_message_text(
                _(texts.DELETE_TOO_LATE).format(id=broadcast_id), chat_id, message_id
            )
            return
    if await correction_held(query, context, message, user, record):
        return
    started = await storage.start_correction(correction_id, chat_id, message_id)
    if started != "started":
        text = texts.CORRECTION_ALREADY if started == "already" else texts.CORRECTION_BUSY
        await query.answer(_(text).format(id=broadcast_id), show_alert=True)
        return
    await query.answer()
    await _started(context, user.id, record.kind, broadcast_id, correction_id)
    title = texts.EDITING if record.kind == "edit" else texts.DELETING
    await context.bot.edit_message_text(_(title).format(id=broadcast_id), chat_id, message_id)


async def start_confirmed(
    context: BotContext,
    record: CorrectionRecord,
    chat_id: int,
    message_id: int,
    *,
    approved: str,
) -> None:
    """Start a correction a second organizer approved, in its author's name and status
    message (which says who approved it)."""
    broadcast_id = record.broadcast_id
    started = await context.storage.start_correction(record.correction_id, chat_id, message_id)
    if started == "started":
        author = record.created_by or 0
        await _started(context, author, record.kind, broadcast_id, record.correction_id)
        title = texts.EDITING if record.kind == "edit" else texts.DELETING
    else:
        title = texts.CORRECTION_ALREADY if started == "already" else texts.CORRECTION_BUSY
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_text(
            f"{approved}\n{_(title).format(id=broadcast_id)}", chat_id, message_id
        )


async def _started(
    context: BotContext, organizer: int, kind: str, broadcast_id: int, correction_id: int
) -> None:
    """Audit a confirmed correction, stop the broadcast first if it is a retraction, and wake
    the workers of this process (another process's notice it within a second)."""
    services = context.services
    action = "broadcast_edit" if kind == "edit" else "broadcast_delete"
    await services.storage.audit(
        organizer, action, f"broadcast {broadcast_id} (correction {correction_id})"
    )
    if kind == "delete" and await services.storage.stop_broadcast(broadcast_id) is not None:
        await services.storage.audit(organizer, "broadcast_stop", f"broadcast {broadcast_id}")
        if services.sender is not None:
            services.sender.wake(broadcast_id)
    if kind == "edit" and services.sender is not None:
        services.sender.forget(broadcast_id)
    if services.corrector is not None:
        services.corrector.wake()


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
    draft = await context.storage.broadcast(found.broadcast_id)
    if draft is None:
        return
    corrected = _corrected(context, draft, message.text_html or "")
    if isinstance(corrected, str):
        await message.chat.send_message(corrected)
        return
    previous = text_of(draft.parts, draft.translations)
    await _offer_edit(message, context, draft, previous, corrected)


def _corrected(context: BotContext, draft: BroadcastDraft, body: str) -> dict[str, Any] | str:
    """Return the broadcast's text with the organizer's corrections, or why it cannot be."""
    main = _main_language(context, draft)
    written = split_languages(body.strip(), main)
    versions: dict[str, list[Part]] = {main: list(draft.parts), **draft.translations}
    new = dict(versions)
    for language, text in written.items():
        if language not in versions:
            return _(texts.EDIT_REFUSED_LANGUAGE).format(
                id=draft.broadcast_id,
                language=i18n.spoken_name(language),
                languages=", ".join(i18n.spoken_name(code) for code in versions),
            )
        packed = pack_messages(text.split("\n\n"))
        try:
            new[language] = corrected_parts(versions[language], packed)
        except ShapeError as error:
            return _refusal(error.reason, draft, versions[language], packed)
    if new == versions:
        return _(texts.EDIT_REFUSED_SAME).format(id=draft.broadcast_id)
    translations = {code: parts for code, parts in new.items() if code != main}
    return text_of(new[main], translations)


def _main_language(context: BotContext, draft: BroadcastDraft) -> str:
    if draft.audience.main_language:
        return draft.audience.main_language
    campaign = context.content.get(draft.campaign_id)
    return campaign.base.language if campaign is not None else i18n.SOURCE_LANGUAGE


def _refusal(reason: str, draft: BroadcastDraft, old: Sequence[Part], packed: list[str]) -> str:
    """Return the one sentence saying why a correction does not fit what was sent."""
    broadcast_id = draft.broadcast_id
    if reason == "poll":
        return _(texts.EDIT_REFUSED_POLL).format(id=broadcast_id)
    if reason == "count":
        return _(texts.EDIT_REFUSED_COUNT).format(id=broadcast_id, new=len(packed), old=len(old))
    if reason == "caption_long":
        length = telegram_length("\n\n".join(packed))
        return _(texts.EDIT_REFUSED_CAPTION).format(length=length)
    return _(texts.EDIT_REFUSED_MIXED).format(id=broadcast_id)


async def _offer_edit(
    message: Message,
    context: BotContext,
    draft: BroadcastDraft,
    previous: dict[str, Any],
    corrected: dict[str, Any],
) -> None:
    """Show each corrected version as readers will see it, with how many copies of it are
    to be edited, and ask Apply / Cancel."""
    main = _main_language(context, draft)
    versions = {main: corrected["parts"], **corrected["translations"]}
    before = {main: previous["parts"], **previous["translations"]}
    readers: Counter[str] = Counter()
    for code, copies in (await context.storage.delivered_languages(draft.broadcast_id)).items():
        readers[version_for(code, corrected["translations"]) or main] += copies
    for language, parts in versions.items():
        if parts == before.get(language):
            continue
        if len(versions) > 1:
            await message.chat.send_message(
                _(texts.BROADCAST_VERSION).format(
                    language=i18n.spoken_name(language), count=readers[language]
                )
            )
        for part in parts:
            await send_part(context.bot, message.chat.id, part)
    count = sum(
        readers[language] for language in versions if versions[language] != before.get(language)
    )
    user = message.from_user
    assert user is not None
    correction_id = await context.storage.create_correction(
        draft.broadcast_id,
        "edit",
        user.id,
        previous=previous,
        corrected=corrected,
        report_language=i18n.interface_language(),
    )
    await message.chat.send_message(
        _(texts.EDIT_PREVIEW).format(id=draft.broadcast_id, count=count),
        reply_markup=_yes_no(texts.BUTTON_APPLY, "apply", "cancel", correction_id),
    )


async def correction_approval_button(update: Update, context: BotContext) -> None:
    """Approve or reject another organizer's edit or retraction, once, if still asked for."""
    pressed = await organizer_press(update, context)
    if pressed is None:
        return
    query, message, user, action, correction_id = pressed
    storage = context.storage
    record = await storage.correction(correction_id)
    if record is None or record.state != "awaiting":
        await query.answer(_(texts.CORRECTION_ALREADY), show_alert=True)
        return
    if record.created_by == user.id:
        await query.answer(_(texts.APPROVAL_OWN), show_alert=True)
        return
    assert record.status_chat_id is not None and record.status_message_id is not None
    where = (record.status_chat_id, record.status_message_id)
    if action == "no":
        if not await storage.reject_correction(correction_id):
            await query.answer(_(texts.CORRECTION_ALREADY), show_alert=True)
            return
        await query.answer()
        await storage.audit(user.id, "correction_reject", f"correction {correction_id}")
        rejected = _(texts.CORRECTION_REJECTED).format(id=record.broadcast_id, who=who(user))
        await tell(context, message, rejected)
        await _tell_at(context, where, rejected)
        return
    asked_after = storage.clock() - APPROVAL_TTL
    if not await storage.approve_correction(correction_id, user.id, asked_after):
        hours = int(APPROVAL_TTL.total_seconds() // 3600)
        await query.answer(_(texts.APPROVAL_EXPIRED).format(hours=hours), show_alert=True)
        return
    await query.answer()
    await storage.audit(user.id, "correction_approve", f"correction {correction_id}")
    approved = _(texts.CORRECTION_APPROVED).format(id=record.broadcast_id, who=who(user))
    await tell(context, message, approved)
    # The author's confirmation goes ahead, in the author's name and message.
    await start_confirmed(context, record, *where, approved=approved)


async def _tell_at(context: BotContext, where: tuple[int, int], text: str) -> None:
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_text(text, *where)
