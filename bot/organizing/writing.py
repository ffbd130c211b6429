"""Writing a campaign from the desk (issue 22, items 2 and 5): open a campaign's file, change
some of its keys, check the whole folder as it would then be, write only what changed, and
publish it to every process; or refuse with one sentence and write nothing."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from telegram import Bot

from bot import texts
from bot.campaign.content import Content, ContentError, load_campaigns
from bot.campaign.editing import ChangedOnDisk, EditError, edited, save
from bot.campaign.markup import escape
from bot.campaign.published import unpack, write_into
from bot.campaign.yamlsafe import YamlProblem
from bot.config import Config
from bot.i18n import gettext as _
from bot.organizing import campaigns
from bot.organizing.asking import Organizer, Refused
from bot.organizing.drafts import campaign_file
from bot.organizing.publishing import Follower
from bot.storage import Storage


@dataclass(frozen=True)
class Opened:
    """A campaign's file as the desk reads it to change: its text, sent back with a save."""

    campaign_id: str
    file_name: str
    text: str


class NotSaved(Refused):
    """A change refused for the problems the campaign would have: each located in its file
    and, for those of the file the desk changes (`path`), at the key it is about."""

    def __init__(self, problems: list[YamlProblem], path: Path | None = None) -> None:
        super().__init__(_(texts.SAVE_PROBLEMS).format(problems=_listed(problems)), alert=False)
        self.problems = problems
        self.path = path

    def at_fields(self) -> list[tuple[str, str]]:
        """Return the changed file's problems that are about one key: (its dotted path, what
        is wrong as `validate` says it)."""
        return [
            (".".join(str(part) for part in problem.where), problem.message)
            for problem in self.problems
            if problem.path == self.path and problem.where
        ]


def open_campaign(content: Content, campaign_id: str) -> Opened:
    """Return a served campaign's file to change; Refused if there is no such campaign."""
    found = campaign_file(content, campaign_id)
    if found is None:
        raise Refused(_(texts.DRAFT_NO_CAMPAIGN).format(campaign=escape(campaign_id)))
    _campaign, path = found
    return Opened(campaign_id, path.name, path.read_text(encoding="utf-8"))


async def save_campaign(
    storage: Storage,
    bot: Bot,
    config: Config,
    content: Content,
    follower: Follower,
    organizer: Organizer,
    opened: Opened,
    changes: Mapping[str, Any],
) -> Content:
    """Write `changes` into the campaign file the organizer opened, if the folder then loads,
    and publish it; return what to serve. Refused, with nothing written, if the changes have
    a problem (NotSaved: the validator's words, located), the file changed on disk since it
    was opened (what changed there), or the folder cannot be written."""
    path, text = _changed(content, opened, changes)
    if text == opened.text:
        return content
    try:
        await asyncio.to_thread(_loaded_with, path, text)
    except NotSaved:
        await storage.audit(organizer.id, "campaign_save_refused", f"{opened.campaign_id}")
        raise
    try:
        # One save at a time: two organizers saving at once cannot both find the file as
        # they opened it; the second is told what the first changed.
        async with follower.writing:
            await asyncio.to_thread(save, path, opened.text, text)
    except ChangedOnDisk as changed:
        diff = escape(changed.diff[:1500])
        raise Refused(_(texts.SAVE_CHANGED_ON_DISK).format(diff=diff), alert=False) from changed
    except OSError as error:
        reason = escape(error.strerror or str(error))
        raise Refused(_(texts.SAVE_CANNOT_WRITE).format(error=reason), alert=False) from error
    await storage.audit(organizer.id, "campaign_save", f"{opened.campaign_id}: {sorted(changes)}")
    return await campaigns.reload(storage, bot, config, organizer.id, follower, path.parent)


async def preview(content: Content, opened: Opened, changes: Mapping[str, Any]) -> Content:
    """Return the content as it would be served with `changes` saved, writing nothing (to
    show its messages); NotSaved if it would not load. Its pictures are not to be sent: their
    files were only checked."""
    path, text = _changed(content, opened, changes)
    return await asyncio.to_thread(_loaded_with, path, text)


def _changed(content: Content, opened: Opened, changes: Mapping[str, Any]) -> tuple[Path, str]:
    """Return the campaign file the organizer opened and its text with `changes` made."""
    found = campaign_file(content, opened.campaign_id)
    if found is None or found[1].name != opened.file_name:
        raise Refused(_(texts.DRAFT_NO_CAMPAIGN).format(campaign=escape(opened.campaign_id)))
    path = found[1]
    try:
        return path, edited(opened.text, changes, path.name)
    except EditError as error:
        raise Refused(escape(str(error)), alert=False) from error


def _loaded_with(path: Path, text: str) -> Content:
    """Return the campaign folder loaded as it would be with `text` as `path`; NotSaved with
    its problems, located in the real folder's files as `validate` words them, if it would
    not load."""
    with tempfile.TemporaryDirectory(prefix="solidarity-check-") as scratch:
        copy = Path(scratch) / path.parent.name
        # Plain copies: a read-only folder's modes would stop the check writing its copy.
        shutil.copytree(path.parent, copy, copy_function=shutil.copyfile)
        (copy / path.name).write_text(text, encoding="utf-8")
        try:
            return load_campaigns(copy)
        except ContentError as error:
            problems = [
                replace(problem, path=path.parent / problem.path.relative_to(copy))
                for problem in error.problems
            ]
    raise NotSaved(problems, path)


def _listed(problems: list[YamlProblem]) -> str:
    lines = [str(problem) for problem in problems[:10]]
    return "<code>" + escape("\n".join(lines)) + "</code>"


async def restore(
    storage: Storage,
    bot: Bot,
    config: Config,
    follower: Follower,
    organizer: Organizer,
    version_id: int,
) -> Content:
    """Put the campaign files back as a published version had them, and publish that; return
    what to serve. Refused if its files are no longer kept, or would not load now."""
    data = await storage.version_data(version_id)
    if data is None:
        raise Refused(_(texts.RESTORE_GONE).format(id=version_id), alert=False)
    problems = await asyncio.to_thread(_version_problems, data)
    if problems:
        raise NotSaved(problems)
    folder = follower.folder
    try:
        async with follower.writing:
            await asyncio.to_thread(write_into, data, folder)
    except OSError as error:
        reason = escape(error.strerror or str(error))
        raise Refused(_(texts.SAVE_CANNOT_WRITE).format(error=reason), alert=False) from error
    await storage.audit(organizer.id, "campaign_restore", f"version {version_id}")
    return await campaigns.reload(storage, bot, config, organizer.id, follower, folder)


def _version_problems(data: bytes) -> list[YamlProblem]:
    with tempfile.TemporaryDirectory(prefix="solidarity-check-") as scratch:
        folder = Path(scratch) / "campaigns"
        unpack(data, folder)
        try:
            load_campaigns(folder)
        except ContentError as error:
            return error.problems
    return []
