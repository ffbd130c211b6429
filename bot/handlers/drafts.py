"""Organizers decide on a draft from a campaign's feed in the chat: add it, add and announce,
or ignore it (bot/organizing/drafts.py does it; the desk calls it too)."""

from __future__ import annotations

import logging

from telegram import MaybeInaccessibleMessage, Update
from telegram.error import TelegramError

from bot import texts
from bot.campaign.content import Content
from bot.campaign.markup import escape
from bot.handlers import admin
from bot.handlers.context import BotContext
from bot.handlers.presses import answer_refusal, organizer_of, organizer_press
from bot.i18n import gettext as _
from bot.organizing import drafts
from bot.organizing.asking import Refused

logger = logging.getLogger(__name__)


async def draft_button(update: Update, context: BotContext) -> None:
    """Add, add and announce, or ignore a draft, once, and only for an organizer."""
    pressed = await organizer_press(update, context)  # checks BOT_ADMINS at every press
    if pressed is None:
        return
    query, message, user, action, number = pressed
    services = context.services

    def serve(content: Content) -> None:
        services.content = content

    try:
        if action == "ign":
            text = await drafts.ignore(
                services.storage, services.config, organizer_of(user), number
            )
            await query.answer()
            await _edit(context, message, text)
            return
        added = await drafts.add(
            services.storage,
            context.bot,
            services.config,
            services.content,
            organizer_of(user),
            number,
            serve,
            services.follower,
        )
    except drafts.Decided as decided:
        await query.answer(decided.text, show_alert=True)
        await _edit(context, message, decided.text)
        return
    except Refused as refused:
        await answer_refusal(query, message, refused)
        return
    await query.answer()
    await _edit(context, message, added.message)
    if not added.latest:
        latest = added.campaign.base.statement
        await message.chat.send_message(
            _(texts.DRAFT_NOT_LATEST).format(latest=escape(latest.title))
        )
        return
    if action == "ann":
        await admin.offer_statement(update, context, added.campaign)


async def _edit(context: BotContext, message: MaybeInaccessibleMessage, text: str) -> None:
    """Replace the question under a draft with what became of it, buttons gone."""
    try:
        await context.bot.edit_message_text(text, message.chat.id, message.message_id)
    except TelegramError as error:  # e.g. "message is not modified" on a second look
        logger.info("draft question not edited: %s", error.message)
