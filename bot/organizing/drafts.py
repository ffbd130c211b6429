"""A draft from a campaign's feed, decided once by an organizer: added as the campaign's new
statement (its file written, the campaigns reloaded) or ignored. The chat's buttons under a
draft and the desk's list of drafts are two faces of these functions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot

from bot import texts
from bot.campaign.content import Campaign, Content, ContentError
from bot.campaign.markup import escape
from bot.campaign.statement_files import file_name, write_statement
from bot.config import Config
from bot.delivery.feed_watch import stored_draft
from bot.feeds.statement_yaml import as_statement, complete, lacking, statement_yaml
from bot.i18n import gettext as _
from bot.organizing import campaigns
from bot.organizing.asking import Organizer, Refused
from bot.organizing.publishing import Follower
from bot.storage import FeedItemState, FeedPost, Storage

logger = logging.getLogger(__name__)


class Decided(Refused):
    """A draft another press (or organizer) decided first; says who and when."""


@dataclass(frozen=True)
class Added:
    """A draft written as a statement file and served; `latest`: it is now the campaign's
    latest statement (else an older one by its date), `campaign` as served now."""

    campaign: Campaign
    path: Path
    latest: bool
    message: str


def campaign_file(content: Content, campaign_id: str) -> tuple[Campaign, Path] | None:
    """Return a served campaign and the file it was read from, or None."""
    for campaign, path in zip(content.campaigns, content.files, strict=True):
        if campaign.id == campaign_id:
            return campaign, path
    return None


async def waiting(storage: Storage) -> list[FeedPost]:
    """Return the drafts waiting for a decision, newest first."""
    return await storage.drafted_feed_posts()


async def _open(storage: Storage, config: Config, organizer: Organizer, item_id: int) -> FeedPost:
    """Return a draft still waiting for a decision; refused if there is none, or it was
    decided (saying who and when)."""
    post = await storage.feed_post(item_id)
    if post is None or post.draft is None:
        raise Refused(_(texts.BUTTON_EXPIRED))
    if post.state is not FeedItemState.DRAFTED:
        raise await _decided(storage, config, organizer, post)
    return post


async def ignore(storage: Storage, config: Config, organizer: Organizer, item_id: int) -> str:
    """Ignore a draft, once; return what became of it."""
    post = await _open(storage, config, organizer, item_id)
    if not await storage.decide_feed_post(item_id, FeedItemState.IGNORED, organizer.id):
        raise await _decided(storage, config, organizer, post)
    await storage.audit(organizer.id, "draft_ignore", f"post {item_id} of {post.campaign_id}")
    return _(texts.DRAFT_IGNORED)


async def add(
    storage: Storage,
    bot: Bot,
    config: Config,
    content: Content,
    organizer: Organizer,
    item_id: int,
    serve: Callable[[Content], None],
    follower: Follower,
) -> Added:
    """Write a draft as its campaign's new statement file, once, and serve the campaigns
    again (`serve` is handed what to serve); refused with why it cannot be, and the draft
    left waiting when the file cannot be kept."""
    post = await _open(storage, config, organizer, item_id)
    assert post.draft is not None
    found = campaign_file(content, post.campaign_id)
    if found is None:
        raise Refused(_(texts.DRAFT_NO_CAMPAIGN).format(campaign=post.campaign_id))
    campaign, path = found
    read_on = post.seen_at.astimezone(config.zone).date()
    draft, filled = complete(stored_draft(post.draft), campaign.organization, read_on)
    statement = None if lacking(draft) else as_statement(draft)
    if statement is None:
        reason = _(texts.DRAFT_NO_TEXT) if not draft.body.strip() else _(texts.DRAFT_NO_TITLE)
        title = draft.title or _(texts.DRAFT_UNTITLED)
        raise Refused(_(texts.DRAFT_CANNOT_ADD).format(title=title, reason=reason)[:200])
    if not await storage.decide_feed_post(item_id, FeedItemState.ADDED, organizer.id):
        raise await _decided(storage, config, organizer, post)
    text = statement_yaml(draft, campaign.id, now=post.seen_at, filled=filled)
    try:
        async with follower.writing:  # not while a reload or a desk save is under way
            written = write_statement(path, text, file_name(draft.date, draft.title))
    except OSError as error:
        await storage.reopen_feed_post(item_id)
        logger.warning("draft #%d: cannot write its file (%s)", item_id, type(error).__name__)
        failed = _(texts.DRAFT_WRITE_FAILED).format(error=escape(error.strerror or str(error)))
        raise Refused(failed, alert=False) from error
    await storage.record_feed_file(item_id, str(written))
    detail = f"post {item_id} to {campaign.id}: {written.name}"
    await storage.audit(organizer.id, "draft_add", detail[:200])
    try:
        # The folder this process serves (written into just above), published to all.
        served = await campaigns.reload(
            storage, bot, config, organizer.id, follower, folder=path.parent
        )
    except ContentError as error:
        raise Refused(await _not_served(storage, item_id, written, error), alert=False) from error
    serve(served)
    now = served.get(campaign.id)
    assert now is not None  # it was just loaded from the same files
    latest = now.base.statement
    message = _(texts.DRAFT_ADDED).format(campaign=escape(campaign.id), path=escape(str(written)))
    is_latest = (latest.title, latest.date, latest.body) == (
        statement.title,
        statement.date,
        statement.body,
    )
    return Added(now, written, is_latest, message)


async def _not_served(storage: Storage, item_id: int, written: Path, error: ContentError) -> str:
    """Return why the added statement is not served; take it back if its own file is at
    fault (the draft waits for a decision again)."""
    if _withdraw(written, error):
        await storage.reopen_feed_post(item_id)
        text = _(texts.DRAFT_FILE_REFUSED)
    else:
        text = _(texts.DRAFT_RELOAD_FAILED)
    return text.format(path=escape(str(written)), problems=campaigns.problem_list(error))


def _withdraw(written: Path, error: ContentError) -> bool:
    """Delete a written statement file if the problems are in it; return whether they were."""
    if not any(problem.path.resolve() == written.resolve() for problem in error.problems):
        return False
    written.unlink(missing_ok=True)
    return True


async def _decided(
    storage: Storage, config: Config, organizer: Organizer, post: FeedPost
) -> Refused:
    """Return the refusal of a draft decided already: who decided it, and when."""
    current = await storage.feed_post(post.item_id) or post
    if current.state not in (FeedItemState.ADDED, FeedItemState.IGNORED):
        return Refused(_(texts.BUTTON_EXPIRED))
    who = (
        _(texts.DRAFT_BY_YOU)
        if current.decided_by == organizer.id
        else _(texts.DRAFT_BY_ORGANIZER).format(id=current.decided_by or "?")
    )
    when = current.decided_at or current.seen_at
    moment = when.astimezone(config.zone).strftime("%Y-%m-%d %H:%M")
    said = (
        texts.DRAFT_ALREADY_ADDED
        if current.state is FeedItemState.ADDED
        else texts.DRAFT_ALREADY_IGNORED
    )
    return Decided(_(said).format(who=who, when=moment))
