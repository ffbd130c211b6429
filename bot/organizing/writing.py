"""Writing a campaign from the desk (issue 22, items 2 and 5): open a campaign's file, change
some of its keys, check the whole folder as it would then be, write only what changed, and
publish it to every process; or refuse with one sentence and write nothing."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from telegram import Bot

from bot import texts
from bot.campaign.content import Content, ContentError, load_campaigns
from bot.campaign.editing import ChangedOnDisk, EditError, changed_keys, edited, save
from bot.campaign.markup import escape
from bot.campaign.published import unpack, write_into
from bot.campaign.statement_files import statement_files
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
    """A campaign file as the desk reads it to change: its text, sent back with a save.
    `file_name` is the campaign file's name, or a statement file's path from the campaigns
    folder (rafah/statements/2024-03-01-title.yaml)."""

    campaign_id: str
    file_name: str
    text: str


# A file the desk opened, and its top-level keys to set (None removes one).
Edit = tuple[Opened, Mapping[str, Any]]


class NotSaved(Refused):
    """A change refused for the problems the campaign would have: each located in its file
    and, for those of the files the desk changes (`paths`), at the key it is about."""

    def __init__(self, problems: list[YamlProblem], paths: Sequence[Path] = ()) -> None:
        super().__init__(_(texts.SAVE_PROBLEMS).format(problems=_listed(problems)), alert=False)
        self.problems = problems
        self.paths = list(paths)

    def at_fields(self) -> list[tuple[str, str]]:
        """Return the changed files' problems that are about one key: (its dotted path, what
        is wrong as `validate` says it). A key of the campaign file is named as it is
        (actions.7.title), one of the n-th statement file after it as files.n.title."""
        found = []
        for problem in self.problems:
            if problem.where and problem.path in self.paths:
                index = self.paths.index(problem.path)
                where = problem.where if index == 0 else ("files", index - 1, *problem.where)
                found.append((".".join(str(part) for part in where), problem.message))
        return found


def open_campaign(content: Content, campaign_id: str) -> list[Opened]:
    """Return a served campaign's files to change: its campaign file, then its statement
    files; Refused if there is no such campaign."""
    path = _campaign_path(content, campaign_id)
    return [
        Opened(campaign_id, str(file.relative_to(path.parent)), file.read_text(encoding="utf-8"))
        for file in (path, *statement_files(path))
    ]


async def save_campaign(
    storage: Storage,
    bot: Bot,
    config: Config,
    content: Content,
    follower: Follower,
    organizer: Organizer,
    edits: Sequence[Edit],
) -> Content:
    """Write the edits into the campaign files the organizer opened (its campaign file first,
    then any of its statement files), if the folder then loads, and publish it; return what
    to serve. Refused, with nothing written, if the changes have a problem (NotSaved: the
    validator's words, located), a file changed on disk since it was opened (what changed
    there), or the folder cannot be written."""
    opened = _changed(content, edits)
    changed = [(file, before, text) for file, before, text in opened if text != before]
    if not changed:
        return content
    campaign_id = edits[0][0].campaign_id
    try:
        await asyncio.to_thread(_loaded_with, opened[0][0], opened)
    except NotSaved:
        await storage.audit(organizer.id, "campaign_save_refused", campaign_id)
        raise
    try:
        # One write at a time (and none while a reload publishes): two organizers saving at
        # once cannot both find the files as they opened them; the second is told what the
        # first changed.
        async with follower.writing:
            await asyncio.to_thread(save, changed)
    except ChangedOnDisk as moved:
        diff = escape(moved.diff[:1500])
        raise Refused(_(texts.SAVE_CHANGED_ON_DISK).format(diff=diff), alert=False) from moved
    except OSError as error:
        raise cannot_write(error) from error
    folder = opened[0][0].parent
    what = [  # each file written, and the keys changed in it
        f"{edit.file_name} {', '.join(changed_keys(edit.text, changes))}"
        for (edit, changes), (_file, before, text) in zip(edits, opened, strict=True)
        if text != before
    ]
    await storage.audit(organizer.id, "campaign_save", f"{campaign_id}: {'; '.join(what)}"[:200])
    return await campaigns.reload(storage, bot, config, organizer.id, follower, folder)


def cannot_write(error: OSError) -> Refused:
    """Return the refusal of a change the campaign folder could not take (read-only, full)."""
    reason = escape(error.strerror or str(error))
    return Refused(_(texts.SAVE_CANNOT_WRITE).format(error=reason), alert=False)


async def preview(content: Content, edits: Sequence[Edit]) -> Content:
    """Return the content as it would be served with the edits saved, writing nothing (to
    show its messages); NotSaved if it would not load. Its pictures are not to be sent: their
    files were only checked."""
    opened = _changed(content, edits)
    return await asyncio.to_thread(_loaded_with, opened[0][0], opened)


# A file to change: where it is, its text as opened, its text changed.
_Change = tuple[Path, str, str]


def _campaign_path(content: Content, campaign_id: str) -> Path:
    found = campaign_file(content, campaign_id)
    if found is None:
        raise Refused(_(texts.DRAFT_NO_CAMPAIGN).format(campaign=escape(campaign_id)))
    return found[1]


def _changed(content: Content, edits: Sequence[Edit]) -> list[_Change]:
    """Return each file the organizer opened with its changes made: the campaign's file
    first, then its statement files; Refused for a file that is none of them."""
    path = _campaign_path(content, edits[0][0].campaign_id)
    files = {str(file.relative_to(path.parent)): file for file in statement_files(path)}
    names = [opened.file_name for opened, _changes in edits]
    found = []
    for number, (opened, changes) in enumerate(edits):
        # Only the files open_campaign named, each once: the campaign's, then statements.
        file = path if number == 0 and opened.file_name == path.name else None
        if number > 0 and names.count(opened.file_name) == 1:
            file = files.get(opened.file_name)
        if file is None:
            raise Refused(_(texts.DRAFT_NO_CAMPAIGN).format(campaign=escape(opened.file_name)))
        try:
            found.append((file, opened.text, edited(opened.text, changes, file.name)))
        except EditError as error:
            raise Refused(escape(str(error)), alert=False) from error
    return found


def _loaded_with(path: Path, opened: Sequence[_Change]) -> Content:
    """Return the campaign folder of `path` loaded as it would be with the opened files'
    texts changed; NotSaved with its problems, located in the real folder's files as
    `validate` words them, if it would not load."""
    folder = path.parent
    with tempfile.TemporaryDirectory(prefix="solidarity-check-") as scratch:
        copy = Path(scratch) / folder.name
        # Plain copies: a read-only folder's modes would stop the check writing its copy.
        shutil.copytree(folder, copy, copy_function=shutil.copyfile)
        for file, _before, text in opened:
            (copy / file.relative_to(folder)).write_text(text, encoding="utf-8")
        try:
            return load_campaigns(copy)
        except ContentError as error:
            problems = [
                replace(problem, path=folder / problem.path.relative_to(copy))
                for problem in error.problems
            ]
    raise NotSaved(problems, [file for file, _before, _text in opened])


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
    problems = await asyncio.to_thread(_version_problems, data, version_id)
    if problems:
        raise NotSaved(problems)
    folder = follower.folder
    try:
        async with follower.writing:
            await asyncio.to_thread(write_into, data, folder)
    except OSError as error:
        raise cannot_write(error) from error
    await storage.audit(organizer.id, "campaign_restore", f"version {version_id}")
    return await campaigns.reload(storage, bot, config, organizer.id, follower, folder)


def _version_problems(data: bytes, version_id: int) -> list[YamlProblem]:
    """Return what would be wrong with a version's files now, each located as "version N/
    rafah.yaml:3:1" (not in the scratch folder they were checked in)."""
    with tempfile.TemporaryDirectory(prefix="solidarity-check-") as scratch:
        folder = Path(scratch) / "campaigns"
        unpack(data, folder)
        try:
            load_campaigns(folder)
        except ContentError as error:
            named = Path(f"version {version_id}")
            return [replace(p, path=named / p.path.relative_to(folder)) for p in error.problems]
    return []
