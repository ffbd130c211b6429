"""Pictures and files in a campaign: where each one is, what it is, and Telegram's limits on it.

A campaign file names them by a path inside its campaign folder (`campaigns/rafah/` for
`campaigns/rafah.yaml`, the folder that also holds `statements/`) or by an https URL. A path is
checked when the campaign loads: the file is there, inside the folder, of a kind Telegram takes
and within its sizes. A URL is not fetched (loading stays offline): Telegram fetches it when the
bot first sends it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

MB = 1024 * 1024
# Bot API, sendPhoto: "The photo must be at most 10 MB in size. The photo's width and height
# must not exceed 10000 in total. Width and height ratio must be at most 20."
PHOTO_BYTES, PHOTO_SIDES, PHOTO_RATIO = 10 * MB, 10_000, 20
PHOTO_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
# Bot API, "Sending files": a bot uploads files of up to 50 MB.
DOCUMENT_BYTES = 50 * MB
# Bot API, sendDocument: "sending by URL will currently only work for GIF, PDF and ZIP files".
URL_DOCUMENTS = (".gif", ".pdf", ".zip")
# What a document's first bytes are, for the kinds whose name says what they should be.
_SIGNATURES = {
    ".pdf": (b"%PDF-", "a PDF"),
    ".png": (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    ".jpg": (b"\xff\xd8\xff", "a JPEG image"),
    ".jpeg": (b"\xff\xd8\xff", "a JPEG image"),
    ".zip": (b"PK\x03\x04", "a ZIP archive"),
    ".gif": (b"GIF8", "a GIF image"),
}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)

Kind = Literal["photo", "document"]


@dataclass(frozen=True)
class Media:
    """A picture or file of a campaign, as the campaign file names it, checked."""

    source: str  # as written in the campaign file
    kind: Kind
    path: Path | None = None  # the file, when it is one of the campaign folder
    url: str | None = None  # else the https URL Telegram fetches it from

    @property
    def name(self) -> str:
        """Return the file's name, as shown to an organizer."""
        if self.path is not None:
            return self.path.name
        return PurePosixPath(urlsplit(self.url or "").path).name or (self.url or "")


def folder_of(campaign_file: Path) -> Path:
    """Return the folder a campaign file's pictures and files are named in."""
    return campaign_file.with_suffix("")


def locate(value: str, kind: Kind, folder: Path) -> Media:
    """Return a picture or file named in a campaign file, or raise ValueError saying why not."""
    text = value.strip()
    if _SCHEME.match(text):
        return Media(text, kind, url=_check_url(text, kind))
    path = _inside(text, folder)
    if kind == "photo":
        check_photo(path)
    else:
        check_document(path)
    return Media(text, kind, path=path)


def _check_url(url: str, kind: Kind) -> str:
    if not url.lower().startswith("https://") or not urlsplit(url).hostname:
        raise ValueError(f"{url!r}: a link to a file must start with https://")
    if kind == "document" and not urlsplit(url).path.lower().endswith(URL_DOCUMENTS):
        raise ValueError(
            f"{url!r}: Telegram fetches only PDF, ZIP and GIF files from a link; "
            "put the file in the campaign folder instead"
        )
    return url


def _inside(text: str, folder: Path) -> Path:
    """Return the file a relative path names inside the campaign folder."""
    where = f"{folder}/"
    if not text or PurePosixPath(text).is_absolute() or Path(text).is_absolute():
        raise ValueError(f"{text!r}: name a file inside {where} (a relative path)")
    path = (folder / text).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ValueError(f"{text!r}: the file must be inside {where}")
    if not path.is_file():
        raise ValueError(f"{text!r}: no such file in {where}")
    return path


def check_photo(path: Path) -> None:
    """Raise ValueError unless Telegram takes this file as a photo."""
    size = path.stat().st_size
    if size > PHOTO_BYTES:
        raise ValueError(f"{path.name}: a picture may be 10 MB at most; this one is {_mb(size)}")
    try:
        with warnings.catch_warnings():
            # A huge picture warns (or raises) as a decompression bomb: it is refused below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                kind, (width, height) = image.format or "", image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
        kind, width, height = "", 0, 0
    if kind not in PHOTO_FORMATS:
        what = f"a {kind} image" if kind else "not an image Telegram can show"
        raise ValueError(f"{path.name}: {what}; a picture must be a JPEG, PNG or WebP file")
    if width + height > PHOTO_SIDES:
        raise ValueError(
            f"{path.name}: {width}x{height} pixels; Telegram takes pictures whose width and "
            f"height add up to {PHOTO_SIDES} at most"
        )
    if max(width, height) > PHOTO_RATIO * min(width, height):
        raise ValueError(
            f"{path.name}: {width}x{height} pixels; Telegram takes pictures at most "
            f"{PHOTO_RATIO} times longer than wide"
        )


def check_document(path: Path) -> None:
    """Raise ValueError unless Telegram takes this file as a document, and it is what it says."""
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path.name}: the file is empty")
    if size > DOCUMENT_BYTES:
        raise ValueError(f"{path.name}: a file may be 50 MB at most; this one is {_mb(size)}")
    expected = _SIGNATURES.get(path.suffix.lower())
    if expected is not None:
        start, what = expected
        with path.open("rb") as file:
            if not file.read(len(start)).startswith(start):
                raise ValueError(f"{path.name}: not {what}, as its name says")


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"
