"""The campaign folder as one published version: every file in it, packed to be kept in the
database and unpacked by any process of the deployment (issue 22, item 3).

A version is a zip of the folder's files (the YAML, the statements' files, the pictures and
documents they name), named by the sha256 of their paths and bytes: two folders with the same
files are the same version, whatever their files' times.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# What one version may hold: campaign pictures are at most 10 MB each (media.py), and a
# deployment's folder is a few of them; past this the folder is not a campaign's.
MAX_BYTES = 64 * 1024 * 1024


class SnapshotError(Exception):
    """A folder that cannot be published, or a version that cannot be unpacked; one sentence."""


@dataclass(frozen=True)
class Snapshot:
    """A campaign folder packed: its digest, its zip, and how many files and bytes it holds."""

    digest: str  # sha256:<hex> of every file's path and bytes, in path order
    data: bytes
    files: int
    size: int


def snapshot(folder: Path) -> Snapshot:
    """Pack every regular file under `folder` (hidden ones and links left out)."""
    paths = sorted(_files(folder), key=lambda path: path.as_posix())
    digest = hashlib.sha256()
    packed = io.BytesIO()
    size = 0
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in paths:
            data = (folder / relative).read_bytes()
            size += len(data)
            if size > MAX_BYTES:
                raise SnapshotError(
                    f"the campaign folder {folder} holds over {MAX_BYTES // 2**20} MB: "
                    "too much to publish to the other processes"
                )
            name = relative.as_posix()
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
            # A fixed time: the same files always make the same bytes.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return Snapshot(f"sha256:{digest.hexdigest()}", packed.getvalue(), len(paths), size)


def _files(folder: Path) -> list[Path]:
    found = []
    for root, directories, names in os.walk(folder):
        directories[:] = [d for d in directories if not d.startswith(".")]
        for name in names:
            path = Path(root) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            found.append(path.relative_to(folder))
    return found


def _entries(data: bytes) -> Iterator[tuple[Path, bytes]]:
    """Yield a version's files, each path relative and inside its folder (an absolute or
    climbing one is skipped, never written)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise SnapshotError(f"a published version cannot be read: {error}") from error
    with archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or info.is_dir():
                continue
            yield Path(*name.parts), archive.read(info)


def diff_versions(before: bytes | None, after: bytes) -> str:
    """Return what changed from one version to the next, file by file: a unified diff of each
    text file added, removed or changed, one line for any other file (a picture); `before`
    None for the first version, whose files are all added."""
    old = dict(_entries(before)) if before is not None else {}
    new = dict(_entries(after))
    parts = []
    for path in sorted(old.keys() | new.keys(), key=lambda path: path.as_posix()):
        was, now = old.get(path), new.get(path)
        if was == now:
            continue
        name = path.as_posix()
        lines = _diff_lines(name, was, now)
        if not lines:  # not text, or the same lines (only an end of line differs)
            how = "added" if was is None else "removed" if now is None else "changed"
            size = len(now if now is not None else was or b"")
            lines = [f"{name}: {how} ({size} bytes)"]
        parts.extend(lines)
    return "".join(f"{line}\n" for line in parts)


def _diff_lines(name: str, was: bytes | None, now: bytes | None) -> list[str]:
    """Return the unified diff of a file's two texts (None: not there), or [] if either is not
    text (holds a NUL byte, or is not UTF-8)."""
    texts = []
    for data in (was, now):
        if data is not None and b"\0" in data:
            return []
        try:
            texts.append("" if data is None else data.decode("utf-8"))
        except UnicodeDecodeError:
            return []
    return list(
        difflib.unified_diff(
            texts[0].splitlines(),
            texts[1].splitlines(),
            fromfile="/dev/null" if was is None else f"a/{name}",
            tofile="/dev/null" if now is None else f"b/{name}",
            lineterm="",
        )
    )


def unpack(data: bytes, into: Path) -> None:
    """Write a version's files into the folder `into` (made anew: what was there goes), each
    file written aside and the folder moved in at once, so a reader never sees half of it."""
    entries = list(_entries(data))  # unreadable: refused before anything is touched
    staging = into.with_name(f".{into.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for relative, content in entries:
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    old = into.with_name(f".{into.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if into.exists():
        into.rename(old)
    staging.rename(into)
    shutil.rmtree(old, ignore_errors=True)


def write_into(data: bytes, folder: Path) -> int:
    """Make `folder` hold a version's files, changing only what differs (each changed file
    written aside, then moved in; the files the version lacks removed); return how many
    changed. The folder itself stays where it is (a mount or a git checkout)."""
    entries = list(_entries(data))
    changed = 0
    for relative, content in entries:
        target = folder / relative
        if target.is_file() and target.read_bytes() == content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = target.with_name(f".{target.name}.restoring")
        aside.write_bytes(content)
        os.replace(aside, target)
        changed += 1
    wanted = {relative for relative, _content in entries}
    for relative in _files(folder):
        if relative not in wanted:
            (folder / relative).unlink()
            changed += 1
    return changed
