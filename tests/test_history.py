"""The campaign's history in the desk (issue 22): what each published version changed, as a
diff from the version before it, file by file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import texts
from bot.campaign.published import Snapshot, snapshot
from bot.organizing.asking import Refused
from bot.organizing.history import version_changes
from bot.storage import Storage
from bot.storage.published import KEPT_VERSIONS

from .conftest import ADMIN, CAMPAIGNS, serving
from .test_writing import opened_now, save

OLD = "\n  - Free Palestine!\n"  # the slogan, not the closing line (indented further)
NEW = "\n  - Free, free Palestine!\n"
# A picture's bytes: not UTF-8, so shown as one line, never as a diff.
PICTURE = b"\xff\xd8\xff\xe0\0\x10JFIF\0" + bytes(range(256)) + b"\xff\xd9"
STATEMENT = "sources/rafah-seed-statement.txt"


async def publish(storage: Storage, folder: Path) -> tuple[int, Snapshot]:
    """Publish the folder as it is now, as the organizer; return its version's id and files."""
    packed = snapshot(folder)
    version = await storage.publish(packed.digest, packed.data, packed.files, packed.size, ADMIN)
    return version.version_id, packed


def changed_lines(diff: str) -> list[str]:
    """Return the diff's lines that add or remove something, headers left out."""
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    ]


def files_in(folder: Path) -> list[str]:
    """Return the paths of a folder's files, relative to it, in order."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped campaign folder."""
    copied = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, copied)
    return copied


async def test_a_version_shows_the_slogan_it_changed_and_the_picture_it_added(
    storage: Storage, folder: Path
) -> None:
    """One slogan changed and a picture added: the diff is that line, old and new, in the
    campaign's file, and one line for the picture; nothing else."""
    await publish(storage, folder)
    campaign = folder / "rafah.yaml"
    text = campaign.read_text(encoding="utf-8")
    assert text.count(OLD) == 1
    campaign.write_text(text.replace(OLD, NEW), encoding="utf-8")
    (folder / "pictures").mkdir()
    (folder / "pictures" / "rally.jpg").write_bytes(PICTURE)
    second, _packed = await publish(storage, folder)

    diff = await version_changes(storage, second)
    lines = diff.splitlines()  # file by file, in path order
    assert lines[0] == f"pictures/rally.jpg: added ({len(PICTURE)} bytes)"
    assert lines[1:3] == ["--- a/rafah.yaml", "+++ b/rafah.yaml"]
    assert changed_lines(diff) == ["-  - Free Palestine!", "+  - Free, free Palestine!"]
    assert sum(line.startswith("--- ") for line in lines) == 1  # no other file


async def test_a_version_shows_a_picture_changed_and_a_file_removed(
    storage: Storage, folder: Path
) -> None:
    """A third version, with the picture replaced and the statement's source file removed:
    one line for the picture, and every line of the removed file taken out."""
    (folder / "pictures").mkdir()
    picture = folder / "pictures" / "rally.jpg"
    picture.write_bytes(PICTURE)
    await publish(storage, folder)
    removed = (folder / STATEMENT).read_text(encoding="utf-8")
    (folder / STATEMENT).unlink()
    picture.write_bytes(PICTURE + b"\0")
    third, _packed = await publish(storage, folder)

    diff = await version_changes(storage, third)
    lines = diff.splitlines()
    assert lines[0] == f"pictures/rally.jpg: changed ({len(PICTURE) + 1} bytes)"
    assert lines[1:3] == [f"--- a/{STATEMENT}", "+++ /dev/null"]
    assert changed_lines(diff) == [f"-{line}" for line in removed.splitlines()]


async def test_the_first_version_adds_every_file(storage: Storage, folder: Path) -> None:
    """Before the first version there was nothing: each of its files is added, line by line."""
    first, packed = await publish(storage, folder)
    diff = await version_changes(storage, first)
    names = files_in(folder)
    assert len(names) == packed.files
    assert {"rafah.yaml", STATEMENT} <= set(names)
    contents = {name: (folder / name).read_bytes().decode("utf-8") for name in names}
    added = [line for line in diff.splitlines() if line.startswith("+++ ")]
    assert added == [f"+++ b/{name}" for name in names]
    expected = [f"+{line}" for name in names for line in contents[name].splitlines()]
    assert changed_lines(diff) == expected


async def test_a_version_whose_files_are_gone_is_refused(storage: Storage, folder: Path) -> None:
    """A version older than the newest kept, or none at all, is refused as a restore of it
    would be; the oldest kept says in one line that the one before it is gone."""
    first, _packed = await publish(storage, folder)
    for number in range(KEPT_VERSIONS):
        latest = await storage.publish(f"sha256:{number}", b"not read", 1, 8, None)
    for gone in (first, latest.version_id + 1):
        with pytest.raises(Refused) as refused:
            await version_changes(storage, gone)
        assert refused.value.text == texts.RESTORE_GONE.format(id=gone)
    oldest_kept = latest.version_id - KEPT_VERSIONS + 1
    assert oldest_kept == first + 1
    answer = await version_changes(storage, oldest_kept)
    assert answer == texts.HISTORY_BEFORE_GONE.format(id=first)
    assert "\n" not in answer


async def test_a_save_from_the_desk_shows_as_the_slogan_it_changed(
    storage: Storage, folder: Path
) -> None:
    """The version a desk save publishes shows that save: the slogan's line, old and new."""
    async with serving(storage, folder) as bot:
        opened = opened_now(bot)
        slogans = list(bot.application.bot_data["services"].content.get("rafah").slogans)
        slogans[3] = "Free, free Palestine!"
        await save(bot, opened, {"slogans": slogans})
    latest = await storage.latest_version()
    assert latest is not None
    assert latest.published_by == ADMIN
    diff = await version_changes(storage, latest.version_id)
    assert changed_lines(diff) == ["-  - Free Palestine!", "+  - Free, free Palestine!"]
