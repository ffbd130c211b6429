"""Reloading the campaign files: served only if every file reads, audited either way."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telegram import Bot

from bot import i18n, texts
from bot.campaign import render
from bot.campaign.content import Content, ContentError, load_campaigns
from bot.campaign.markup import escape
from bot.campaign.published import snapshot
from bot.config import Config
from bot.delivery import channels
from bot.i18n import gettext as _
from bot.organizing.asking import Refused
from bot.organizing.desk_menu import place_menu_buttons
from bot.organizing.publishing import Follower
from bot.storage import Storage, VersionInfo


async def reload(
    storage: Storage,
    bot: Bot,
    config: Config,
    organizer: int,
    follower: Follower,
    folder: Path | None = None,
) -> Content:
    """Re-read the campaign files (CAMPAIGNS_DIR, or the `folder` a draft was written into)
    and publish them to every process, their channels synced and the organizers' menu buttons
    placed; return them to serve. ContentError (audited) if any is wrong; Refused if this
    process serves a newer version than CAMPAIGNS_DIR holds, which publishing would undo."""
    folder = folder or config.campaigns_dir
    # No desk save or draft writes between reading the files and publishing them: else a
    # version read before a save could be published after it, and undo it everywhere.
    async with follower.writing:
        content, version = await _published(storage, config, organizer, follower, folder)
    await channels.sync(bot, storage, content)
    await place_menu_buttons(bot, storage, config)
    await storage.audit(
        organizer, "reload", f"version {version.version_id}: {render.summary(content)}"[:200]
    )
    return content


async def _published(
    storage: Storage, config: Config, organizer: int, follower: Follower, folder: Path
) -> tuple[Content, VersionInfo]:
    """Load the folder, publish it and serve it here; return it and its version."""
    try:
        content = await asyncio.to_thread(load_campaigns, folder)  # off the event loop
    except ContentError as error:
        await storage.audit(organizer, "reload_failed", f"{len(error.problems)} problems")
        raise
    packed = await asyncio.to_thread(snapshot, folder)
    latest = await storage.latest_version()
    if (
        latest is not None
        and latest.digest != packed.digest
        and follower.serving_own
        and folder == config.campaigns_dir
        and await storage.was_published(packed.digest)
    ):
        await storage.audit(organizer, "reload_refused", f"older than version {latest.version_id}")
        when = i18n.format_moment(latest.published_at.astimezone(config.zone))
        raise Refused(_(texts.RELOAD_OLDER).format(when=when), alert=False)
    version = await storage.publish(
        packed.digest, packed.data, packed.files, packed.size, organizer
    )
    follower.served(version, folder)
    return content, version


def problem_list(error: ContentError) -> str:
    """Return the first problems of the campaign files, located, for a message."""
    problems = "\n".join(escape(str(p)) for p in error.problems[:20])
    return f"<code>{problems}</code>"
