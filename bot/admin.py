"""What organizers get: broadcasts with a confirmed preview, stats, exports and reloads."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType

from bot import render, reports, texts
from bot.content import Campaign, ContentError, load_campaigns
from bot.context import BotContext
from bot.handlers import send_all
from bot.markup import escape, pack_messages

logger = logging.getLogger(__name__)

_COMMAND_PREFIX = re.compile(r"^/\w+(?:@\w+)?[ \t]*\n?[ \t]*")


def _pick_campaign(context: BotContext) -> tuple[Campaign | None, list[str]]:
    """Take an optional leading campaign id from the arguments; None if one is needed."""
    args = list(context.args or [])
    content = context.content
    if args and content.get(args[0]) is not None:
        return content.get(args[0]), args[1:]
    if len(content) == 1:
        return content.default, args
    return None, args


async def _ask_which(update: Update, context: BotContext, command: str) -> None:
    assert update.effective_chat is not None
    ids = ", ".join(c.id for c in context.content)
    await update.effective_chat.send_message(
        texts.WHICH_CAMPAIGN.format(
            command=command, example=context.content.default.id, campaigns=ids
        )
    )


def broadcast_text(html: str, campaign_id: str | None) -> str:
    """Return the organizer's formatted text with the command and campaign id taken off."""
    # text_html renders the leading bot_command entity as plain text, so the prefix is plain.
    body = _COMMAND_PREFIX.sub("", html, count=1)
    if campaign_id is not None:
        body = re.sub(rf"^{re.escape(campaign_id)}(?:[ \t]+|\n|$)", "", body, count=1)
    return body.strip()


async def _offer(
    update: Update, context: BotContext, campaign: Campaign, kind: str, parts: list[str]
) -> None:
    """Show the broadcast exactly as subscribers will see it, with Send and Cancel."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    storage = context.storage
    count = await storage.count_recipients(campaign.id)
    if count == 0:
        await chat.send_message(texts.BROADCAST_NO_RECIPIENTS.format(campaign=escape(campaign.id)))
        return
    broadcast_id = await storage.create_broadcast(campaign.id, kind, parts, user.id)
    await storage.audit(user.id, f"{kind}_preview", f"broadcast {broadcast_id} to {campaign.id}")
    await send_all(chat, parts)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_SEND, callback_data=f"bc:send:{broadcast_id}"),
                InlineKeyboardButton(
                    texts.BUTTON_CANCEL, callback_data=f"bc:cancel:{broadcast_id}"
                ),
            ]
        ]
    )
    await chat.send_message(
        texts.BROADCAST_PREVIEW.format(
            campaign=escape(campaign.id),
            parts=len(parts),
            plural="" if len(parts) == 1 else "s",
            count=count,
        ),
        reply_markup=markup,
    )


async def broadcast(update: Update, context: BotContext) -> None:
    """Prepare a broadcast of the organizer's text."""
    message = update.effective_message
    assert message is not None
    campaign, args = _pick_campaign(context)
    if campaign is None:
        await _ask_which(update, context, "broadcast")
        return
    explicit = context.args[0] if context.args and context.args[0] == campaign.id else None
    body = broadcast_text(message.text_html or "", explicit)
    if not args or not body:
        ids = ", ".join(c.id for c in context.content)
        await message.chat.send_message(texts.BROADCAST_USAGE.format(campaigns=ids))
        return
    await _offer(update, context, campaign, "broadcast", pack_messages(body.split("\n\n")))


async def announce(update: Update, context: BotContext) -> None:
    """Prepare a broadcast of the campaign's latest statement."""
    campaign, _ = _pick_campaign(context)
    if campaign is None:
        await _ask_which(update, context, "announce")
        return
    await _offer(
        update, context, campaign, "statement", render.statement(campaign, campaign.statement)
    )


async def confirm_button(update: Update, context: BotContext) -> None:
    """Send or cancel a prepared broadcast, once, and only for an organizer."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None
    assert query.data is not None
    assert user is not None
    # Checked again here: a button's data can be forged, and admins can change between steps.
    if user.id not in context.services.config.admins:
        await query.answer(texts.NOT_ADMIN, show_alert=True)
        logger.warning("refused a broadcast confirmation from a non-organizer")
        return
    message = query.message
    if message is None:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    _, action, number = query.data.split(":")
    broadcast_id = int(number)
    storage = context.storage
    if action == "cancel":
        if not await storage.cancel_draft(broadcast_id):
            # Leave the message alone: it may hold the final report of a sent broadcast.
            await query.answer(texts.BROADCAST_ALREADY, show_alert=True)
            return
        await query.answer()
        await storage.audit(user.id, "broadcast_cancel", f"broadcast {broadcast_id}")
        await context.bot.edit_message_text(
            texts.BROADCAST_CANCELLED, message.chat.id, message.message_id
        )
        return
    total = await storage.start_broadcast(broadcast_id, message.chat.id, message.message_id)
    if total is None:
        await query.answer(texts.BROADCAST_ALREADY, show_alert=True)
        return
    await query.answer(texts.BROADCAST_QUEUED.format(total=total))
    await storage.audit(user.id, "broadcast_send", f"broadcast {broadcast_id}: {total} recipients")
    # From here the sender alone edits the status message: an edit from this handler could
    # land after the sender's final report and hide it.
    if context.services.sender is not None:
        context.services.sender.wake(broadcast_id)


async def stats(update: Update, context: BotContext) -> None:
    """Send subscriber numbers and the last broadcasts."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    await context.storage.audit(user.id, "stats")
    await chat.send_message(await reports.stats_html(context.storage))


async def export(update: Update, context: BotContext) -> None:
    """Send the subscriber list as a CSV document."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    campaign_id = context.args[0] if context.args else None
    if campaign_id is not None and context.content.get(campaign_id) is None:
        await _ask_which(update, context, "export")
        return
    buffer = io.StringIO()
    count = await reports.write_csv(context.storage, buffer, campaign_id)
    await context.storage.audit(user.id, "export", f"{count} rows of {campaign_id or 'all'}")
    name = f"subscribers-{campaign_id or 'all'}-{dt.date.today():%Y%m%d}.csv"
    await chat.send_document(
        InputFile(buffer.getvalue().encode("utf-8"), filename=name),
        caption=texts.EXPORT_CAPTION.format(count=count),
    )


async def reload(update: Update, context: BotContext) -> None:
    """Re-read the campaign files; on any problem keep the previous content."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    services = context.services
    try:
        content = load_campaigns(services.config.campaigns_dir)
    except ContentError as error:
        await services.storage.audit(user.id, "reload_failed", f"{len(error.problems)} problems")
        problems = "\n".join(escape(str(p)) for p in error.problems[:20])
        await chat.send_message(texts.RELOAD_FAILED.format(problems=f"<code>{problems}</code>"))
        return
    services.content = content
    await services.storage.audit(user.id, "reload", render.summary(content))
    await chat.send_message(texts.RELOADED.format(summary=escape(render.summary(content))))


async def refuse(update: Update, context: BotContext) -> None:
    """Refuse an organizer command to someone who may not use it here."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    is_admin = user is not None and user.id in context.services.config.admins
    text = (
        texts.ADMIN_PRIVATE_ONLY if is_admin and chat.type != ChatType.PRIVATE else texts.NOT_ADMIN
    )
    await chat.send_message(text)
