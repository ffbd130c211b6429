"""Inline mode: typing @<bot> in any chat offers the campaign's words, ready to post in one tap.

The results are the latest statement (its title, its opening, and a button that opens the whole
statement in the bot), each slogan, and each action item. What is typed after the bot's name
filters them. Telegram takes at most 50 results per answer, so longer lists come in pages
(`next_offset`); result ids stay within its 64 bytes, and the only button is a link, so no
callback data is involved. Inline mode is switched on with @BotFather's /setinline.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)

from bot import texts
from bot.campaign import links, render
from bot.campaign.content import Campaign, Content
from bot.campaign.markup import escape, render_blocks
from bot.handlers.context import BotContext
from bot.i18n import gettext as _

PAGE = 50  # Telegram's most results per answer
OPENING = 700  # characters of a statement shown in a chat before "read it all"
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

    def matches(self, words: list[str]) -> bool:
        text = self.message if self.searched is None else self.searched
        haystack = f"{self.title} {self.description} {text}".casefold()
        return all(word in haystack for word in words)

    def result(self) -> InlineQueryResultArticle:
        markup = None
        if self.button is not None:
            label, url = self.button
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])
        return InlineQueryResultArticle(
            id=self.id,
            title=self.title[:100],
            description=self.description[:200],
            input_message_content=InputTextMessageContent(self.message, parse_mode="HTML"),
            reply_markup=markup,
        )


def items(content: Content, bot_username: str) -> list[Item]:
    """Return everything on offer: per campaign, its statement, slogans, then actions."""
    found: list[Item] = []
    for campaign in content:
        found.append(_statement(campaign, bot_username))
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
            found.append(
                Item(
                    id=f"ac:{campaign.key}:{number}",
                    title=f"📣 {action.title}",
                    description=action.description,
                    message=render.action(action),
                    button=(_(texts.INLINE_JOIN), links.start_link(bot_username, campaign.id)),
                )
            )
    return found


def _statement(campaign: Campaign, bot_username: str) -> Item:
    statement = campaign.statement
    opening = ""
    for block in render_blocks(statement.body):
        if len(opening) + len(block) > OPENING and opening:
            break
        opening = f"{opening}\n\n{block}" if opening else block
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
    )


async def answer(update: Update, context: BotContext) -> None:
    """Answer an inline query with the matching items, 50 at a time."""
    query = update.inline_query
    assert query is not None
    words = query.query.casefold().split()
    offered = [i for i in items(context.content, context.bot.username) if i.matches(words)]
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
