"""The campaign's menu, and what it opens: the statement, the slogans, the actions, the archive."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

from bot import texts
from bot.campaign import links, render
from bot.campaign.content import Campaign
from bot.campaign.markup import escape
from bot.handlers.context import BotContext
from bot.i18n import gettext as _

# Keyboards


def menu_keyboard(
    context: BotContext, campaign: Campaign, *, subscribed: bool, chat_type: str
) -> InlineKeyboardMarkup:
    """Return the campaign menu: every reply the bot gives, one press away."""
    key = campaign.key
    rows = [
        [
            InlineKeyboardButton(_(texts.BUTTON_STATEMENT), callback_data=f"st:{key}"),
            InlineKeyboardButton(_(texts.BUTTON_SLOGANS), callback_data=f"sl:{key}"),
        ],
        [
            InlineKeyboardButton(_(texts.BUTTON_ACTIONS), callback_data=f"ac:{key}"),
            InlineKeyboardButton(_(texts.BUTTON_ARCHIVE), callback_data=f"ar:{key}"),
        ],
    ]
    toggle = (
        InlineKeyboardButton(_(texts.BUTTON_UNSUBSCRIBE), callback_data=f"uns:{key}")
        if subscribed
        else InlineKeyboardButton(_(texts.BUTTON_SUBSCRIBE), callback_data=f"sub:{key}")
    )
    rows.append([toggle])
    username = context.bot.username
    if username:
        link = links.start_link(username, campaign.id)
        share = f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(campaign.title)}"
        rows[-1].append(InlineKeyboardButton(_(texts.BUTTON_SHARE), url=share))
    if subscribed and campaign.topics:
        rows.append([InlineKeyboardButton(_(texts.BUTTON_TOPICS), callback_data=f"tp:{key}:")])
    extra = [
        InlineKeyboardButton(_(texts.BUTTON_LANGUAGE), callback_data="language"),
        InlineKeyboardButton(_(texts.BUTTON_HELP), callback_data="help"),
    ]
    if chat_type == ChatType.PRIVATE:
        extra.insert(0, InlineKeyboardButton(_(texts.BUTTON_MYDATA), callback_data="mydata"))
    if len(context.content) > 1:
        extra.insert(0, InlineKeyboardButton(_(texts.BUTTON_CAMPAIGNS), callback_data="campaigns"))
    rows.append(extra)
    return InlineKeyboardMarkup(rows)


def to_menu(campaign: Campaign) -> InlineKeyboardButton:
    """Return the button leading back to the campaign's menu."""
    return InlineKeyboardButton(_(texts.BUTTON_MENU), callback_data=f"menu:{campaign.key}")


def back_to_menu(campaign: Campaign) -> InlineKeyboardMarkup:
    """Return a one-button keyboard leading back to the menu."""
    return InlineKeyboardMarkup([[to_menu(campaign)]])


async def send_all(
    chat: Chat, messages: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Send messages in order, the keyboard under the last one; return the last."""
    last: Message | None = None
    for index, text in enumerate(messages):
        last = await chat.send_message(
            text, reply_markup=markup if index == len(messages) - 1 else None
        )
    assert last is not None
    return last


# What the menu's buttons open


async def show_menu(
    update: Update,
    context: BotContext,
    campaign: Campaign,
    note: str = "",
    subscribed: bool | None = None,
) -> None:
    """Send the welcome and the campaign menu."""
    chat = update.effective_chat
    assert chat is not None
    context.choose(campaign)
    if subscribed is None:
        subscribed = await context.storage.is_subscribed(chat.id, campaign.id)
    text = render.welcome(campaign)
    if note:
        text = f"{note}\n\n{text}"
    markup = menu_keyboard(context, campaign, subscribed=subscribed, chat_type=chat.type)
    await chat.send_message(text, reply_markup=markup)


async def show_campaigns(update: Update, context: BotContext) -> None:
    """Send the list of campaigns with a button for each."""
    chat = update.effective_chat
    assert chat is not None
    rows = [
        [InlineKeyboardButton(c.title[:60], callback_data=f"pick:{c.key}")]
        for c in context.content
    ]
    await chat.send_message(
        render.campaign_list(context.content), reply_markup=InlineKeyboardMarkup(rows)
    )


async def show_statement(
    update: Update, context: BotContext, campaign: Campaign, index: int = 0
) -> None:
    """Send the latest statement (or an archived one), split on paragraph boundaries."""
    chat = update.effective_chat
    assert chat is not None
    archive = campaign.archive
    item = archive[index] if 0 <= index < len(archive) else campaign.statement
    files = context.services.files
    # Its picture first (a caption holds 1,024 characters, a statement more), then its
    # words with the menu button, then its files.
    if item.image is not None:
        await files.try_send(context.bot, chat.id, item.image)
    await send_all(chat, render.statement(campaign, item), back_to_menu(campaign))
    for attachment in item.attachments:
        caption = escape(attachment.title) if attachment.title else None
        await files.try_send(context.bot, chat.id, attachment.file, caption=caption)


async def show_slogans(update: Update, context: BotContext, campaign: Campaign) -> None:
    """Send the campaign's slogans."""
    assert update.effective_chat is not None
    await send_all(update.effective_chat, [render.slogans(campaign)], back_to_menu(campaign))


async def show_actions(update: Update, context: BotContext, campaign: Campaign) -> None:
    """Send the campaign's action items; in private, with an "I'm in" button for each."""
    chat = update.effective_chat
    assert chat is not None
    for number, action in enumerate(campaign.actions, start=1):
        if action.image is not None:  # its poster, above the list its number points into
            caption = f"<b>{number}. {escape(action.title[:1000])}</b>"  # within 1,024
            await context.services.files.try_send(
                context.bot, chat.id, action.image, caption=caption
            )
    await send_all(chat, render.actions(campaign), await actions_markup(context, chat, campaign))


async def actions_markup(
    context: BotContext, chat: Chat, campaign: Campaign
) -> InlineKeyboardMarkup:
    """Return an "I'm in" button per action: showing whether one is in, in a private chat; in a
    group, where everyone sees the same buttons, how many are in."""
    rows = []
    private = chat.type == ChatType.PRIVATE
    storage = context.storage
    pledged = await storage.pledged(chat.id, campaign.id) if private else set()
    counts = await storage.pledge_counts(campaign.id) if campaign.actions and not private else {}
    for action in campaign.actions:
        key = campaign.action_key(action)
        if private:
            label = _(texts.BUTTON_PLEDGED if key in pledged else texts.BUTTON_PLEDGE)
            text = _fit(label, action.title)
        else:
            count = counts.get((campaign.id, key), 0)
            text = _fit(_(texts.BUTTON_PLEDGE_COUNT), action.title, count=count)
        rows.append([InlineKeyboardButton(text, callback_data=f"pl:{campaign.key}:{key}")])
    rows.append([to_menu(campaign)])
    return InlineKeyboardMarkup(rows)


def _fit(label: str, title: str, width: int = 64, **values: object) -> str:
    """Return a button label, shortening the title (not the rest) to keep it readable."""
    room = width - len(label.format(title="", **values))
    if len(title) > room:
        title = title[: max(room - 1, 1)].rstrip() + "…"
    return label.format(title=title, **values)


async def show_archive(update: Update, context: BotContext, campaign: Campaign) -> None:
    """Send the list of statements, each a button."""
    chat = update.effective_chat
    assert chat is not None
    rows = [
        [InlineKeyboardButton(f"{n}. {s.title}"[:60], callback_data=f"old:{n - 1}:{campaign.key}")]
        for n, s in enumerate(campaign.archive, start=1)
    ]
    rows.append([to_menu(campaign)])
    await chat.send_message(render.archive(campaign), reply_markup=InlineKeyboardMarkup(rows))
