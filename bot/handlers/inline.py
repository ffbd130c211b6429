"""Inline mode: typing @<bot> in any chat offers the campaign's words, ready to post in one tap.

The results are the latest statement (its title, its opening, and a button that opens the whole
statement in the bot), each slogan, and each action item. A statement or action with a picture
Telegram already has (the bot sent it once, to anyone) is offered as that picture, its words in
the caption. What is typed after the bot's name filters them. Telegram takes at most 50
results per answer, so longer lists come in pages (`next_offset`); result ids stay within its
64 bytes, and the only button is a link, so no callback data is involved. Inline mode is
switched on with @BotFather's /setinline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InputTextMessageContent,
    Update,
)

from bot import texts
from bot.campaign import links, render
from bot.campaign.content import Campaign, Content, Statement
from bot.campaign.markup import escape, render_blocks, telegram_length
from bot.campaign.media import Media
from bot.handlers.context import BotContext
from bot.i18n import gettext as _

PAGE = 50  # Telegram's most results per answer
OPENING = 700  # characters of a statement shown in a chat before "read it all"
CAPTION_OPENING = 500  # the same under its picture, whose caption holds 1,024
MAX_CAPTION = 1024
CACHE_SECONDS = 300


@dataclass(frozen=True)
class Item:
    """One thing a person can post: what the list shows, and the message it becomes."""

    id: str
    title: str
    description: str
    message: str
    button: tuple[str, str] | None = None  # (label, url)
    searched: str | None = None  # what typed words are looked for in, if not the message
    photo: str | None = None  # the file id of its picture, when Telegram has it
    caption: str | None = None  # the words under the picture

    def matches(self, words: list[str]) -> bool:
        text = self.message if self.searched is None else self.searched
        haystack = f"{self.title} {self.description} {text}".casefold()
        return all(word in haystack for word in words)

    def result(self) -> InlineQueryResultArticle | InlineQueryResultCachedPhoto:
        markup = None
        if self.button is not None:
            label, url = self.button
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])
        if self.photo is not None and self.caption is not None:
            return InlineQueryResultCachedPhoto(
                id=self.id,
                photo_file_id=self.photo,
                title=self.title[:100],
                description=self.description[:200],
                caption=self.caption,
                parse_mode="HTML",
                reply_markup=markup,
            )
        return InlineQueryResultArticle(
            id=self.id,
            title=self.title[:100],
            description=self.description[:200],
            input_message_content=InputTextMessageContent(self.message, parse_mode="HTML"),
            reply_markup=markup,
        )


def items(
    content: Content, bot_username: str, photos: Mapping[Media, str] | None = None
) -> list[Item]:
    """Return everything on offer: per campaign, its statement, slogans, then actions.

    `photos` are the file ids of the pictures Telegram has: those items are offered as them.
    """
    photos = photos or {}
    found: list[Item] = []
    for campaign in content:
        found.append(_statement(campaign, bot_username, photos))
        for number, slogan in enumerate(campaign.slogans):
            found.append(
                Item(
                    id=f"sl:{campaign.key}:{number}",
                    title=f"✊ {slogan}",
                    description=_(texts.INLINE_SLOGAN).format(title=campaign.title),
                    message=render.slogan(slogan),
                )
            )
        for number, action in enumerate(campaign.actions):
            message = render.action(action)
            found.append(
                Item(
                    id=f"ac:{campaign.key}:{number}",
                    title=f"📣 {action.title}",
                    description=action.description,
                    message=message,
                    button=(_(texts.INLINE_JOIN), links.start_link(bot_username, campaign.id)),
                    photo=photos.get(action.image) if action.image else None,
                    caption=message if telegram_length(message) <= MAX_CAPTION else None,
                )
            )
    return found


def _opening(statement: Statement, limit: int) -> str:
    """Return a statement's first paragraphs, as many as fit in `limit` (at least one)."""
    opening = ""
    for block in render_blocks(statement.body):
        if len(opening) + len(block) > limit and opening:
            break
        opening = f"{opening}\n\n{block}" if opening else block
    return opening


def _caption(statement: Statement) -> str | None:
    """Return a statement's words under its picture: its opening if it fits, and its signature."""
    title, signature = f"<b>{escape(statement.title)}</b>", render.signature(statement)
    caption = f"{title}\n\n{_opening(statement, CAPTION_OPENING)}\n\n…\n{signature}"
    if telegram_length(caption) > MAX_CAPTION:
        caption = f"{title}\n…\n{signature}"
    return caption if telegram_length(caption) <= MAX_CAPTION else None


def _statement(campaign: Campaign, bot_username: str, photos: Mapping[Media, str]) -> Item:
    statement = campaign.statement
    opening = _opening(statement, OPENING)
    # The statement's own ending follows the cut: its closing lines (slogans), then signature.
    ending = "\n\n".join([*render.closing(statement), render.signature(statement)])
    message = f"<b>{escape(statement.title)}</b>\n\n{opening}\n\n…\n{ending}"
    return Item(
        id=f"st:{campaign.key}",
        title=f"📄 {statement.title}",
        description=" · ".join(
            (statement.author, render.published(statement), campaign.organization)
        ),
        message=message[:4096],
        button=(_(texts.INLINE_READ_ALL), links.start_link(bot_username, campaign.id)),
        # Its closing lines are the slogans offered on their own: typing one finds the slogan.
        searched=opening,
        photo=photos.get(statement.image) if statement.image else None,
        caption=_caption(statement),
    )


async def known_photos(context: BotContext) -> dict[Media, str]:
    """Return the file ids Telegram has of the campaigns' pictures."""
    found: dict[Media, str] = {}
    for campaign in context.content:
        pictures = [campaign.statement.image, *(action.image for action in campaign.actions)]
        for picture in pictures:
            if picture is not None and picture not in found:
                file_id = await context.services.files.known_file_id(picture)
                if file_id is not None:
                    found[picture] = file_id
    return found


async def answer(update: Update, context: BotContext) -> None:
    """Answer an inline query with the matching items, 50 at a time."""
    query = update.inline_query
    assert query is not None
    words = query.query.casefold().split()
    photos = await known_photos(context)
    offered = [i for i in items(context.content, context.bot.username, photos) if i.matches(words)]
    start = int(query.offset) if query.offset.isdigit() else 0
    page = offered[start : start + PAGE]
    more = start + PAGE < len(offered)
    await query.answer(
        [item.result() for item in page],
        cache_time=CACHE_SECONDS,
        # The results are in the asker's language: Telegram must not hand them to others.
        is_personal=True,
        next_offset=str(start + PAGE) if more else "",
    )
