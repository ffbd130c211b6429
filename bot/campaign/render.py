"""Campaign content rendered into the Telegram HTML messages the bot sends."""

from __future__ import annotations

import html

from bot import i18n, texts
from bot.campaign.content import Action, Campaign, Content, Statement
from bot.campaign.markup import (
    escape,
    pack_messages,
    render_blocks,
    render_inline,
    render_lines,
)
from bot.i18n import gettext as _


def welcome(campaign: Campaign) -> str:
    """Return the welcome shown above the menu."""
    lines = [
        _(texts.WELCOME).format(
            title=escape(campaign.title), organization=escape(campaign.organization)
        )
    ]
    if campaign.summary:
        lines.append(render_inline(campaign.summary))
    lines.append(_(texts.MENU_HINT))
    return "\n\n".join(lines)


def statement(campaign: Campaign, item: Statement) -> list[str]:
    """Return a statement as messages of at most 4096 characters, split between paragraphs."""
    byline = _(texts.STATEMENT_BYLINE).format(
        date=escape(published(item)),
        organization=escape(item.organization or campaign.organization),
    )
    blocks = [
        f"<b>{escape(item.title)}</b>\n{byline}",
        *render_blocks(item.body),
        *closing(item),
        signature(item),
    ]
    if item.source:
        blocks.append(_(texts.STATEMENT_SOURCE).format(url=html.escape(item.source, quote=True)))
    return pack_messages(blocks)


def published(item: Statement) -> str:
    """Return when a statement was published, in the reader's language."""
    return i18n.format_day(item.date.day, item.date.precise)


def closing(item: Statement) -> list[str]:
    """Return a statement's closing lines (its slogans, say) as HTML blocks, one to a line."""
    return render_lines(item.closing)


def signature(item: Statement) -> str:
    """Return a statement's signature line: its author and their role."""
    role = f", {escape(item.role)}" if item.role else ""
    return _(texts.STATEMENT_SIGNATURE).format(author=escape(item.author), role=role)


def slogan(text: str) -> str:
    """Return one slogan as it is posted."""
    return f"✊ <b>{escape(text)}</b>"


def archive(campaign: Campaign) -> str:
    """Return the list of a campaign's statements, newest first."""
    lines = [_(texts.ARCHIVE_TITLE).format(title=escape(campaign.title))]
    for number, item in enumerate(campaign.archive, start=1):
        lines.append(
            _(texts.ARCHIVE_LINE).format(
                number=number,
                title=escape(item.title),
                date=escape(published(item)),
            )
        )
    return "\n".join(lines)


def slogans(campaign: Campaign) -> str:
    """Return the campaign's slogans, one per line."""
    if not campaign.slogans:
        return _(texts.NO_SLOGANS)
    return "\n\n".join([_(texts.SLOGANS_TITLE), *(slogan(s) for s in campaign.slogans)])


def action(item: Action, number: int | None = None) -> str:
    """Return one action item: title, description, when, where, link."""
    head = f"<b>{escape(item.title)}</b>"
    lines = [head if number is None else f"{number}. {head}", render_inline(item.description)]
    when = " ".join(
        part
        for part in (
            i18n.format_day(item.date) if item.date else "",
            f"{item.time:%H:%M}" if item.time else "",
        )
        if part
    )
    if when:
        lines.append(_(texts.ACTION_WHEN).format(when=when))
    if item.place:
        lines.append(_(texts.ACTION_PLACE).format(place=escape(item.place)))
    if item.link:
        lines.append(f'🔗 <a href="{html.escape(item.link, quote=True)}">{escape(item.link)}</a>')
    return "\n".join(lines)


def actions(campaign: Campaign) -> list[str]:
    """Return the campaign's action items as messages."""
    if not campaign.actions:
        return [_(texts.NO_ACTIONS)]
    blocks = [_(texts.ACTIONS_TITLE), *(action(a, n) for n, a in enumerate(campaign.actions, 1))]
    return pack_messages(blocks)


def campaign_list(content: Content) -> str:
    """Return the list of campaigns served."""
    lines = [_(texts.PICK_CAMPAIGN)]
    lines.extend(
        _(texts.CAMPAIGN_LINE).format(title=escape(c.title), organization=escape(c.organization))
        for c in content
    )
    return "\n".join(lines)


def summary(content: Content) -> str:
    """Return one line per campaign: what is served."""
    return "; ".join(
        f"{c.id}: {len(c.statements)} statement(s), {len(c.slogans)} slogan(s), "
        f"{len(c.actions)} action(s)"
        for c in content
    )
