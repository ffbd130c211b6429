"""Organizers decide on a draft from a campaign's feed: add it, add and announce, or ignore it."""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import CallbackQuery, MaybeInaccessibleMessage, Update
from telegram.error import TelegramError

from bot import texts
from bot.campaign.content import Campaign, Content, ContentError
from bot.campaign.markup import escape
from bot.campaign.statement_files import file_name, write_statement
from bot.delivery.feed_watch import stored_draft
from bot.feeds.statement_yaml import as_statement, complete, lacking, statement_yaml
from bot.handlers import admin
from bot.handlers.context import BotContext
from bot.handlers.presses import organizer_press
from bot.i18n import gettext as _
from bot.storage import FeedItemState, FeedPost

logger = logging.getLogger(__name__)


def campaign_file(content: Content, campaign_id: str) -> tuple[Campaign, Path] | None:
    """Return a served campaign and the file it was read from, or None."""
    for campaign, path in zip(content.campaigns, content.files, strict=True):
        if campaign.id == campaign_id:
            return campaign, path
    return None


async def draft_button(update: Update, context: BotContext) -> None:
    """Add, add and announce, or ignore a draft, once, and only for an organizer."""
    pressed = await organizer_press(update, context)  # checks BOT_ADMINS at every press
    if pressed is None:
        return
    query, message, user, action, number = pressed
    post = await context.storage.feed_post(number)
    if post is None or post.draft is None:
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    if post.state is not FeedItemState.DRAFTED:
        await _decided_already(query, message, context, post, user.id)
        return
    if action == "ign":
        await _ignore(query, message, context, post, user.id)
    else:
        await _add(update, query, message, context, post, user.id, announce=action == "ann")


async def _ignore(
    query: CallbackQuery,
    message: MaybeInaccessibleMessage,
    context: BotContext,
    post: FeedPost,
    organizer: int,
) -> None:
    storage = context.storage
    if not await storage.decide_feed_post(post.item_id, FeedItemState.IGNORED, organizer):
        await _decided_already(query, message, context, post, organizer)
        return
    await query.answer()
    await storage.audit(organizer, "draft_ignore", f"post {post.item_id} of {post.campaign_id}")
    await _edit(context, message, _(texts.DRAFT_IGNORED))


async def _add(
    update: Update,
    query: CallbackQuery,
    message: MaybeInaccessibleMessage,
    context: BotContext,
    post: FeedPost,
    organizer: int,
    *,
    announce: bool,
) -> None:
    """Write the draft as a new statement file, serve it, and offer to announce it if asked."""
    assert post.draft is not None
    storage = context.storage
    found = campaign_file(context.content, post.campaign_id)
    if found is None:
        await query.answer(
            _(texts.DRAFT_NO_CAMPAIGN).format(campaign=post.campaign_id), show_alert=True
        )
        return
    campaign, path = found
    read_on = post.seen_at.astimezone(context.services.config.zone).date()
    draft, filled = complete(stored_draft(post.draft), campaign.organization, read_on)
    statement = None if lacking(draft) else as_statement(draft)
    if statement is None:
        reason = _(texts.DRAFT_NO_TEXT) if not draft.body.strip() else _(texts.DRAFT_NO_TITLE)
        title = draft.title or _(texts.DRAFT_UNTITLED)
        await query.answer(
            _(texts.DRAFT_CANNOT_ADD).format(title=title, reason=reason)[:200], show_alert=True
        )
        return
    if not await storage.decide_feed_post(post.item_id, FeedItemState.ADDED, organizer):
        await _decided_already(query, message, context, post, organizer)
        return
    await query.answer()
    text = statement_yaml(draft, campaign.id, now=post.seen_at, filled=filled)
    try:
        written = write_statement(path, text, file_name(draft.date, draft.title))
    except OSError as error:
        await storage.reopen_feed_post(post.item_id)
        logger.warning("draft #%d: cannot write its file (%s)", post.item_id, type(error).__name__)
        await message.chat.send_message(
            _(texts.DRAFT_WRITE_FAILED).format(error=escape(error.strerror or str(error)))
        )
        return
    await storage.record_feed_file(post.item_id, str(written))
    detail = f"post {post.item_id} to {campaign.id}: {written.name}"
    await storage.audit(organizer, "draft_add", detail[:200])
    problems = await admin.reload_campaigns(context, organizer)
    if problems is not None:
        await _not_served(context, message, post, written, problems)
        return
    await _edit(
        context,
        message,
        _(texts.DRAFT_ADDED).format(campaign=escape(campaign.id), path=escape(str(written))),
    )
    served = context.content.get(campaign.id)
    assert served is not None  # it was just loaded from the same files
    latest = served.base.statement
    added = (statement.title, statement.date, statement.body)
    if (latest.title, latest.date, latest.body) != added:
        await message.chat.send_message(
            _(texts.DRAFT_NOT_LATEST).format(latest=escape(latest.title))
        )
        return
    if announce:
        await admin.offer_statement(update, context, served)


async def _not_served(
    context: BotContext,
    message: MaybeInaccessibleMessage,
    post: FeedPost,
    written: Path,
    error: ContentError,
) -> None:
    """Say why the added statement is not served; take it back if its own file is at fault."""
    if _withdraw(written, error):
        await context.storage.reopen_feed_post(post.item_id)
        text = _(texts.DRAFT_FILE_REFUSED)
    else:
        text = _(texts.DRAFT_RELOAD_FAILED)
    await message.chat.send_message(
        text.format(path=escape(str(written)), problems=admin.problem_list(error))
    )


def _withdraw(written: Path, error: ContentError) -> bool:
    """Delete a written statement file if the problems are in it; return whether they were."""
    if not any(problem.path.resolve() == written.resolve() for problem in error.problems):
        return False
    written.unlink(missing_ok=True)
    return True


async def _decided_already(
    query: CallbackQuery,
    message: MaybeInaccessibleMessage,
    context: BotContext,
    post: FeedPost,
    organizer: int,
) -> None:
    """Tell the presser who decided on this draft, and when; take its buttons away."""
    current = await context.storage.feed_post(post.item_id) or post
    if current.state not in (FeedItemState.ADDED, FeedItemState.IGNORED):
        await query.answer(_(texts.BUTTON_EXPIRED), show_alert=True)
        return
    who = (
        _(texts.DRAFT_BY_YOU)
        if current.decided_by == organizer
        else _(texts.DRAFT_BY_ORGANIZER).format(id=current.decided_by or "?")
    )
    when = current.decided_at or current.seen_at
    moment = when.astimezone(context.services.config.zone).strftime("%Y-%m-%d %H:%M")
    said = (
        texts.DRAFT_ALREADY_ADDED
        if current.state is FeedItemState.ADDED
        else texts.DRAFT_ALREADY_IGNORED
    )
    text = _(said).format(who=who, when=moment)
    await query.answer(text, show_alert=True)
    await _edit(context, message, text)


async def _edit(context: BotContext, message: MaybeInaccessibleMessage, text: str) -> None:
    """Replace the question under a draft with what became of it, buttons gone."""
    try:
        await context.bot.edit_message_text(text, message.chat.id, message.message_id)
    except TelegramError as error:  # e.g. "message is not modified" on a second look
        logger.info("draft question not edited: %s", error.message)
