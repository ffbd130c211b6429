"""The campaign folder published as one version (issue 22, item 3): packed the same way from
the same files, kept in the database, unpacked whole by any process."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from bot import texts
from bot.campaign.content import load_campaigns
from bot.campaign.published import SnapshotError, snapshot, unpack, write_into
from bot.storage import Storage
from bot.storage.published import KEPT_VERSIONS

from .conftest import ADMIN, CAMPAIGNS, serving


def folder_copy(tmp_path: Path, name: str = "campaigns") -> Path:
    copied = tmp_path / name
    shutil.copytree(CAMPAIGNS, copied)
    return copied


def test_the_same_files_make_the_same_version(tmp_path: Path) -> None:
    """A digest names the files, not when they were written or where the folder is."""
    first, second = folder_copy(tmp_path, "a"), folder_copy(tmp_path, "b")
    (second / "rafah.yaml").touch()
    (second / ".editor-backup").write_text("not published")
    assert snapshot(first) == snapshot(second)
    (second / "rafah.yaml").write_text((second / "rafah.yaml").read_text() + "\n# a comment\n")
    assert snapshot(first).digest != snapshot(second).digest


def test_a_version_unpacks_to_the_same_folder_and_loads(tmp_path: Path) -> None:
    folder = folder_copy(tmp_path)
    packed = snapshot(folder)
    assert packed.files == sum(1 for path in folder.rglob("*") if path.is_file())
    target = tmp_path / "served"
    (target / "stale").mkdir(parents=True)
    (target / "stale" / "old.yaml").write_text("id: gone")
    unpack(packed.data, target)
    assert not (target / "stale").exists()  # the folder is the version, nothing else
    assert snapshot(target).digest == packed.digest
    assert [c.id for c in load_campaigns(target)] == [c.id for c in load_campaigns(folder)]


def test_a_version_never_writes_outside_its_folder(tmp_path: Path) -> None:
    """A packed path climbing out (`../`) or absolute is skipped, not written."""
    data = tmp_path / "evil.zip"
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("../outside.yaml", "id: x")
        archive.writestr("/etc/absolute.yaml", "id: y")
        archive.writestr("inside.yaml", "id: z")
    unpack(data.read_bytes(), tmp_path / "served")
    assert not (tmp_path / "outside.yaml").exists()
    assert [p.name for p in (tmp_path / "served").rglob("*")] == ["inside.yaml"]
    with pytest.raises(SnapshotError, match="cannot be read"):
        unpack(b"not a zip", tmp_path / "other")


async def test_publishing_keeps_each_new_version_once(storage: Storage, tmp_path: Path) -> None:
    """Publishing the files already published keeps no second copy; the latest is served."""
    assert await storage.latest_version() is None
    folder = folder_copy(tmp_path)
    packed = snapshot(folder)
    first = await storage.publish(packed.digest, packed.data, packed.files, packed.size, None)
    again = await storage.publish(packed.digest, packed.data, packed.files, packed.size, ADMIN)
    assert again == first
    (folder / "rafah.yaml").write_text((folder / "rafah.yaml").read_text() + "\n# changed\n")
    changed = snapshot(folder)
    second = await storage.publish(changed.digest, changed.data, 1, changed.size, ADMIN)
    assert second.version_id > first.version_id
    assert second.published_by == ADMIN
    assert await storage.latest_version() == second
    assert await storage.version_data(second.version_id) == changed.data


async def test_only_the_newest_versions_keep_their_files(storage: Storage) -> None:
    for number in range(KEPT_VERSIONS + 3):
        latest = await storage.publish(f"sha256:{number}", b"zip", 1, 3, None)
    assert await storage.version_data(latest.version_id) == b"zip"
    assert await storage.version_data(latest.version_id - KEPT_VERSIONS + 1) == b"zip"
    assert await storage.version_data(latest.version_id - KEPT_VERSIONS) is None  # files gone
    assert await storage.was_published("sha256:0")  # its digest kept
    assert not await storage.was_published("sha256:never")


async def test_a_single_process_serves_its_files_first(storage: Storage, tmp_path: Path) -> None:
    """One process, as ever: a /reload publishes the files, a file put back as it was is
    published again (not refused), and files edited while it was stopped are served at start."""
    folder = folder_copy(tmp_path)
    campaign = folder / "rafah.yaml"
    original = campaign.read_text()
    async with serving(storage, folder) as bot:
        first = await storage.latest_version()
        assert first is not None
        assert first.digest == snapshot(folder).digest  # published at start
        campaign.write_text(original.replace("title: All eyes on Rafah", "title: Eyes on Rafah"))
        await bot.command("/reload", user=ADMIN)
        assert bot.texts(ADMIN)[-1].startswith(texts.RELOADED.split("{")[0])
        assert bot.application.bot_data["services"].content.default.title == "Eyes on Rafah"
        campaign.write_text(original)  # put back: an older version, on purpose
        await bot.command("/reload", user=ADMIN)
        assert bot.texts(ADMIN)[-1].startswith(texts.RELOADED.split("{")[0])
        latest = await storage.latest_version()
        assert latest is not None
        assert (latest.digest, latest.published_by) == (first.digest, ADMIN)
    campaign.write_text(original.replace("title: All eyes on Rafah", "title: Rafah now"))
    async with serving(storage, folder) as bot:
        assert bot.application.bot_data["services"].content.default.title == "Rafah now"
        latest = await storage.latest_version()
        assert latest is not None
        assert latest.digest == snapshot(folder).digest


def test_writing_a_version_into_a_folder_changes_only_what_differs(tmp_path: Path) -> None:
    """The folder stays (a mount, a checkout); changed files are replaced, the version's missing
    files removed, hidden ones left alone."""
    folder = folder_copy(tmp_path)
    packed = snapshot(folder)
    (folder / "rafah.yaml").write_text("id: changed")
    (folder / "extra.yaml").write_text("id: extra")
    (folder / ".git-keep").write_text("kept")
    inode = folder.stat().st_ino
    assert write_into(packed.data, folder) == 2
    assert snapshot(folder).digest == packed.digest
    assert (folder / ".git-keep").read_text() == "kept"
    assert folder.stat().st_ino == inode
    assert write_into(packed.data, folder) == 0
