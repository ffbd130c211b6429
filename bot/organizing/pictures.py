"""A picture chosen on an organizer's phone, kept in its campaign's folder (issue 22): under
`pictures/`, by a safe name, if it passes the checks a picture a campaign file names passes
(bot/campaign/media.py); else refused with one sentence, and nothing kept."""

from __future__ import annotations

import asyncio
import filecmp
import itertools
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path, PureWindowsPath
from typing import BinaryIO

from PIL import Image

from bot import texts
from bot.campaign import media
from bot.campaign.content import Content
from bot.campaign.markup import escape
from bot.i18n import gettext as _
from bot.organizing.asking import Organizer, Refused
from bot.organizing.drafts import campaign_file
from bot.organizing.writing import cannot_write
from bot.storage import Storage

PICTURES = "pictures"  # the campaign folder's own folder for them
CHUNK = 64 * 1024  # read at a time: a picture is never held whole in memory
NAME_LENGTH = 64
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}  # by what the file really is
_UNSAFE = re.compile(r"[^a-z0-9_-]+")

# Reads up to n bytes of the upload; b"" at its end (aiohttp's BodyPartReader.read_chunk).
Read = Callable[[int], Awaitable[bytes]]


async def keep_picture(
    storage: Storage,
    content: Content,
    organizer: Organizer,
    campaign_id: str,
    file_name: str,
    read: Read,
) -> str:
    """Keep the picture `read` gives in the campaign's `pictures/`, named after `file_name`;
    return its path as a campaign file's `image:` names it ("pictures/poster.jpg"). Refused,
    with nothing left in the folder, if there is no such campaign, Telegram would not take
    the picture (in media.py's words), or the folder cannot be written."""
    found = campaign_file(content, campaign_id)
    if found is None:
        raise Refused(_(texts.DRAFT_NO_CAMPAIGN).format(campaign=escape(campaign_id)))
    folder = media.folder_of(found[1]) / PICTURES
    shown = PureWindowsPath(file_name).name[:100] or "picture"  # as the phone named it
    try:
        made, aside, file = await asyncio.to_thread(_opened, folder)
    except OSError as error:
        raise cannot_write(error) from error
    kept = False
    try:
        with file:
            await _received(read, file, shown)
        try:
            name = await asyncio.to_thread(_placed, aside, folder, safe_stem(file_name))
        except ValueError as error:
            sentence = str(error).removeprefix(f"{aside.name}: ")
            raise Refused(escape(f"{shown}: {sentence}"), alert=False) from error
        except OSError as error:
            raise cannot_write(error) from error
        kept = True
    finally:
        if not kept:
            await asyncio.to_thread(_cleared, aside, made)
    path = f"{PICTURES}/{name}"
    await storage.audit(organizer.id, "campaign_picture", f"{campaign_id}: {path}")
    return path


def safe_stem(file_name: str) -> str:
    """Return the name a picture is kept by, without its extension: the last part of
    `file_name`, in lower-case ASCII letters, digits, - and _ ("picture" if none is left)."""
    base = PureWindowsPath(file_name).name  # cut at / and \ alike
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    return _UNSAFE.sub("-", plain).strip("-_")[:NAME_LENGTH].strip("-_") or "picture"


async def _received(read: Read, file: BinaryIO, shown: str) -> None:
    """Write the upload into `file`; refused as soon as it is past Telegram's 10 MB, before
    more of it is read (nor any of the chunk that went past written)."""
    taken = 0
    while chunk := await read(CHUNK):
        taken += len(chunk)
        if taken > media.PHOTO_BYTES:
            raise Refused(_(texts.PICTURE_TOO_BIG).format(name=escape(shown)), alert=False)
        try:
            await asyncio.to_thread(file.write, chunk)
        except OSError as error:
            raise cannot_write(error) from error


def _opened(folder: Path) -> tuple[list[Path], Path, BinaryIO]:
    """Open a file in `folder` (made if missing) to receive a picture; return the folders
    made, deepest first, to be taken away again if nothing is kept, and the file. It is
    hidden (a published version leaves hidden files out) and beside the pictures, on the
    same disk, so that it is moved in at once."""
    made = list(itertools.takewhile(lambda p: not p.exists(), [folder, *folder.parents]))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        descriptor, name = tempfile.mkstemp(prefix=".", suffix=".upload", dir=folder)
    except OSError:
        _cleared(None, made)
        raise
    return made, Path(name), os.fdopen(descriptor, "wb")


def _placed(aside: Path, folder: Path, stem: str) -> str:
    """Check the received picture as a campaign file's would be, and move it in under the
    first free name (or the one holding the same bytes); return that name. ValueError, in
    media.py's words, if Telegram would not take it."""
    media.check_photo(aside)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # as check_photo
        with Image.open(aside) as image:
            extension = EXTENSIONS[image.format or ""]
    for name in _names(stem, extension):
        path = folder / name
        try:
            os.link(aside, path)  # never over a picture already there, even another process's
        except FileExistsError:
            if path.is_file() and filecmp.cmp(aside, path, shallow=False):
                aside.unlink()
                return name
            continue
        aside.unlink()
        return name
    raise AssertionError("unreachable: the names are endless")


def _names(stem: str, extension: str) -> Iterator[str]:
    yield stem + extension
    for number in itertools.count(2):
        yield f"{stem}-{number}{extension}"


def _cleared(aside: Path | None, made: list[Path]) -> None:
    """Take away what a refused upload left: its file, and the folders made for it."""
    if aside is not None:
        aside.unlink(missing_ok=True)
    for folder in made:
        try:
            folder.rmdir()
        except OSError:  # another picture came into it meanwhile
            break
