"""Campaign pictures and files sent to Telegram: uploaded once, then sent by their file id.

A file of the campaign folder is uploaded the first time it is sent; the file id Telegram gives
it is kept in the database under the sha256 of its bytes (an edited file is a new upload), so
after a restart it is still sent by id. A file named by URL is sent as the URL (Telegram fetches
it) and its file id kept under the URL. A file id Telegram no longer takes is forgotten and the
file uploaded again. In one process, one upload of a file at a time: two people asking for a
statement at once do not upload its picture twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TimedOut

from bot.campaign.content import Statement
from bot.campaign.markup import escape
from bot.campaign.media import Media
from bot.delivery.posts import Part, file_part
from bot.storage import Storage

logger = logging.getLogger(__name__)

# Telegram's answers to a file id it no longer has (another bot's, or one it dropped).
_STALE = ("wrong file identifier", "wrong remote file identifier", "file_id", "file reference")
# An upload's time: a base, and a second per half megabyte (a slow uplink's pace).
UPLOAD_SECONDS, UPLOAD_RATE = 20.0, 512 * 1024


class CampaignFiles:
    """Sends campaign pictures and files, by file id once Telegram has them."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._locks: dict[str, asyncio.Lock] = {}
        self._digests: dict[tuple[Path, int, int], str] = {}

    async def key(self, media: Media) -> str:
        """Return the key a file's id is kept under: its content's sha256, or its URL."""
        if media.path is None:
            return media.url or media.source
        stat = media.path.stat()
        seen = (media.path, stat.st_size, stat.st_mtime_ns)
        if seen not in self._digests:
            # Up to 50 MB: hashed off the event loop, once per version of the file.
            digest = await asyncio.to_thread(_sha256, media.path)
            self._digests[seen] = f"sha256:{digest}"
        return self._digests[seen]

    async def known_file_id(self, media: Media) -> str | None:
        """Return the file id Telegram gave this file, or None if it was never sent (or the
        file is gone from the folder since the campaign was loaded)."""
        try:
            key = await self.key(media)
        except OSError:
            return None
        return await self.storage.uploaded_file_id(key, media.kind)

    async def send(self, bot: Bot, chat_id: int, media: Media, **options: Any) -> Message:
        """Send a campaign file to a chat: by its file id if Telegram has it, else uploaded."""
        key = await self.key(media)
        sent = await self._by_known_id(bot, chat_id, media, key, options)
        if sent is not None:
            return sent
        async with self._locks.setdefault(key, asyncio.Lock()):
            # Someone else may have uploaded it while this one waited.
            sent = await self._by_known_id(bot, chat_id, media, key, options)
            if sent is not None:
                return sent
            upload, extra = await _upload(media)
            message = await _send(bot, chat_id, media, upload, {**extra, **options})
            await self.storage.remember_upload(key, media.kind, _file_id(message, media))
            logger.info("uploaded a %s (%s) to chat %d", media.kind, media.name, chat_id)
            return message

    async def try_send(
        self, bot: Bot, chat_id: int, media: Media, **options: Any
    ) -> Message | None:
        """Send a campaign file; if Telegram refuses it, log why and return None."""
        try:
            return await self.send(bot, chat_id, media, **options)
        except (BadRequest, TimedOut) as error:
            # A URL Telegram cannot fetch, or an upload too slow: the words around it still go.
            logger.warning("could not send %s %s: %s", media.kind, media.name, error.message)
        except OSError as error:
            # The file left the folder since the campaign was loaded (/reload will say so).
            logger.warning("could not read %s %s: %s", media.kind, media.name, error.strerror)
        return None

    async def file_id(self, bot: Bot, chat_id: int, media: Media) -> str | None:
        """Return the file's id, uploading it first (to a chat, then deleted) if it is new."""
        known = await self.known_file_id(media)
        if known is not None and await self._still_taken(bot, media, known):
            return known
        message = await self.try_send(bot, chat_id, media, disable_notification=True)
        if message is None:
            return None
        # Telegram has no upload without a message: the one sent only to upload goes again.
        with contextlib.suppress(BadRequest):  # left in the chat, if it cannot be deleted
            await bot.delete_message(chat_id, message.message_id)
        return _file_id(message, media)

    async def statement_parts(
        self, bot: Bot, chat_id: int, item: Statement
    ) -> tuple[list[Part], list[Part]]:
        """Return a statement's picture, and its files, as broadcast parts by file id."""
        before: list[Part] = []
        if item.image is not None:
            found = await self.file_id(bot, chat_id, item.image)
            before = [file_part("photo", found)] if found else []
        after: list[Part] = []
        for attachment in item.attachments:
            found = await self.file_id(bot, chat_id, attachment.file)
            caption = escape(attachment.title) if attachment.title else None
            after.extend([file_part("document", found, caption)] if found else [])
        return before, after

    async def _still_taken(self, bot: Bot, media: Media, file_id: str) -> bool:
        """Tell whether Telegram still has a kept file id (asked without sending anything);
        forget it if not."""
        try:
            await bot.get_file(file_id)
        except BadRequest as error:
            if not _stale(error):
                return True  # "file is too big" (over 20 MB to download): it is there
            await self.storage.forget_upload(await self.key(media), media.kind, file_id)
            return False
        return True

    async def _by_known_id(
        self, bot: Bot, chat_id: int, media: Media, key: str, options: dict[str, Any]
    ) -> Message | None:
        """Send a file by its kept id; None if there is none, or Telegram no longer takes it."""
        file_id = await self.storage.uploaded_file_id(key, media.kind)
        if file_id is None:
            return None
        try:
            return await _send(bot, chat_id, media, file_id, options)
        except BadRequest as error:
            if not _stale(error):
                raise
        logger.info("telegram no longer has the %s %s: uploading it again", media.kind, media.name)
        await self.storage.forget_upload(key, media.kind, file_id)
        return None


def _stale(error: BadRequest) -> bool:
    """Tell whether Telegram refused a file id it does not have."""
    return any(words in error.message.lower() for words in _STALE)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


async def _upload(media: Media) -> tuple[InputFile | str, dict[str, Any]]:
    """Return what uploads a file (its bytes, or the URL Telegram fetches it from), and the
    options its sending needs."""
    if media.path is None:
        return media.url or media.source, {}
    content = await asyncio.to_thread(media.path.read_bytes)
    # PTB gives an upload 20 s in all: a 50 MB file needs longer on a slow uplink.
    timeout = UPLOAD_SECONDS + len(content) / UPLOAD_RATE
    return InputFile(content, filename=media.name), {"write_timeout": timeout}


async def _send(
    bot: Bot, chat_id: int, media: Media, what: InputFile | str, options: dict[str, Any]
) -> Message:
    options = {"parse_mode": ParseMode.HTML, **options}
    if media.kind == "photo":
        return await bot.send_photo(chat_id, what, **options)
    return await bot.send_document(chat_id, what, **options)


def _file_id(message: Message, media: Media) -> str:
    """Return the file id of what a message carries (a photo's largest size)."""
    if media.kind == "photo" and message.photo:
        return message.photo[-1].file_id
    if message.document is not None:
        return message.document.file_id
    raise ValueError(f"message {message.message_id} carries no {media.kind}")
