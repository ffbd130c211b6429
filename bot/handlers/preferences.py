"""What readers choose for themselves: the language the bot speaks, the topics they follow."""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import i18n, texts
from bot.campaign.content import Campaign
from bot.campaign.markup import escape
from bot.handlers.context import BotContext
from bot.handlers.public import may_manage_chat, show_menu, to_menu
from bot.i18n import gettext as _
from bot.organizing import desk_menu

logger = logging.getLogger(__name__)


async def speak_their_language(update: Update, context: BotContext) -> None:
    """Speak the reader's language in this update: the one they chose, else their app's."""
    user, chat = update.effective_user, update.effective_chat
    code = user.language_code if user else None
    where = chat.id if chat else user.id if user else None
    chosen = context.services.languages.of(where) if where is not None else None
    i18n.activate(chosen or code, fallback=context.content.campaigns[0].language)


# /language


def _language_keyboard(campaign: Campaign) -> InlineKeyboardMarkup:
    languages = dict.fromkeys([*i18n.interface_languages(), *campaign.languages])
    current = i18n.requested()
    buttons = [
        InlineKeyboardButton(
            ("✅ " if i18n.match(current, (code,)) else "") + i18n.language_name(code),
            callback_data=f"lang:{code}",
        )
        for code in languages
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(_(texts.BUTTON_AUTOMATIC), callback_data="lang:auto")])
    return InlineKeyboardMarkup(rows)


async def language_command(update: Update, context: BotContext) -> None:
    """Offer the languages the bot and the campaign speak (the command, or the menu button)."""
    chat = update.effective_chat
    assert chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    campaign = context.campaign()
    current = i18n.spoken_name(i18n.interface_language())
    await chat.send_message(
        _(texts.LANGUAGE_PROMPT).format(current=current),
        reply_markup=_language_keyboard(campaign),
    )


async def language_button(update: Update, context: BotContext) -> None:
    """Remember the language chosen (for a group, only its admins may) and answer in it."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and query.data is not None and chat is not None
    if not await may_manage_chat(context, chat, user, None):
        await query.answer(_(texts.GROUP_ADMINS_ONLY), show_alert=True)
        return
    chosen = query.data.removeprefix("lang:")
    # Only what a keyboard offered: button data can be forged.
    written = {language for campaign in context.content for language in campaign.languages}
    offered = {*i18n.interface_languages(), *written}
    if chosen != "auto" and chosen not in offered:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    code = None if chosen == "auto" else chosen
    await context.services.languages.choose(chat.id, code)
    await speak_their_language(update, context)  # the new choice, from here on
    await query.answer()
    if user is not None and chat.type == ChatType.PRIVATE:  # an organizer's Dashboard button
        config = context.services.config
        await desk_menu.give_menu_button(context.bot, context.storage, config, user.id)
    name = i18n.spoken_name(i18n.interface_language())
    reply = _(texts.LANGUAGE_CHOSEN if code else texts.LANGUAGE_AUTOMATIC).format(name=name)
    campaign = context.campaign()
    if code and i18n.match(code, campaign.languages) is None:
        reply += "\n\n" + _(texts.CONTENT_LANGUAGES).format(
            title=escape(campaign.title),
            languages=", ".join(i18n.spoken_name(c) for c in campaign.languages),
            default=i18n.spoken_name(campaign.base.language),
        )
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(reply)
        except TelegramError:
            logger.debug("language message in chat %d not edited", chat.id)
    await show_menu(update, context, campaign)


# /topics


def _topics_keyboard(campaign: Campaign, chosen: frozenset[str] | None) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                _(
                    texts.TOPIC_ON if chosen is None or topic.id in chosen else texts.TOPIC_OFF
                ).format(title=topic.title)[:64],
                callback_data=f"tp:{campaign.key}:{topic.id}",
            )
        ]
        for topic in campaign.topics
    ]
    rows.append(
        [
            InlineKeyboardButton(_(texts.BUTTON_ALL_TOPICS), callback_data=f"tp:{campaign.key}:*"),
            to_menu(campaign),
        ]
    )
    return InlineKeyboardMarkup(rows)


async def show_topics(update: Update, context: BotContext, campaign: Campaign) -> None:
    """Send the campaign's topics, each a switch, to a subscribed chat."""
    chat = update.effective_chat
    assert chat is not None
    title = escape(campaign.title)
    if not campaign.topics:
        await chat.send_message(_(texts.NO_TOPICS).format(title=title))
        return
    subscribed, chosen = await context.storage.topics_of(chat.id, campaign.id)
    if not subscribed:
        await chat.send_message(_(texts.TOPICS_SUBSCRIBE_FIRST).format(title=title))
        return
    await chat.send_message(
        _(texts.TOPICS_PROMPT).format(title=title),
        reply_markup=_topics_keyboard(campaign, chosen),
    )


async def topics_command(update: Update, context: BotContext) -> None:
    """Show the topics of the campaign this chat is looking at."""
    await show_topics(update, context, context.campaign())


def toggled(
    campaign: Campaign, chosen: frozenset[str] | None, pressed: str
) -> frozenset[str] | None:
    """Return the topics followed after a press: one switched, or all ("*"); None is all."""
    every = frozenset(t.id for t in campaign.topics)
    if pressed == "*":
        return None
    current = every if chosen is None else chosen & every
    after = current - {pressed} if pressed in current else current | {pressed}
    # Following every topic is stored as "all", so topics added later reach them too.
    return None if after == every else after


async def topics_button(update: Update, context: BotContext) -> None:
    """Show the topics, or switch one (for a group, only its admins may)."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and query.data is not None and chat is not None
    _prefix, key, pressed = query.data.split(":")
    campaign = context.content.by_key(key)
    if campaign is None or (pressed not in ("", "*") and campaign.topic(pressed) is None):
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    if not pressed:
        await query.answer()
        await show_topics(update, context, campaign)
        return
    if not await may_manage_chat(context, chat, update.effective_user, None):
        await query.answer(_(texts.GROUP_ADMINS_ONLY), show_alert=True)
        return
    storage = context.storage
    subscribed, chosen = await storage.topics_of(chat.id, campaign.id)
    after = toggled(campaign, chosen, pressed)
    if not subscribed or not await storage.set_topics(chat.id, campaign.id, after):
        # An alert shows plain text: no tags.
        alert = re.sub(r"<[^>]+>", "", _(texts.TOPICS_SUBSCRIBE_FIRST))
        await query.answer(alert.format(title=campaign.title), show_alert=True)
        return
    await query.answer(_(texts.TOPICS_SAVED))
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(_topics_keyboard(campaign, after))
        except TelegramError:
            logger.debug("topics keyboard in chat %d not updated", chat.id)
