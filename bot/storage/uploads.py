"""Uploads: the file id Telegram gave each campaign picture or file, so it is uploaded once."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select

from bot.storage.engine import Database
from bot.storage.models import Upload

_KEY_LENGTH = 1000


def upload_key(key: str) -> str:
    """Return a file's key as stored: itself, or its hash when too long for the column."""
    if len(key) <= _KEY_LENGTH:
        return key
    return "url-sha256:" + hashlib.sha256(key.encode()).hexdigest()


class Uploads(Database):
    """The file ids of campaign files Telegram has: one per file's content (or URL) and kind."""

    async def uploaded_file_id(self, key: str, kind: str) -> str | None:
        """Return the file id a file was sent by before, or None if it never was."""
        async with self._session() as session:
            found = await session.scalar(
                select(Upload.file_id).where(Upload.key == upload_key(key), Upload.kind == kind)
            )
        return found

    async def remember_upload(self, key: str, kind: str, file_id: str) -> None:
        """Keep the file id Telegram gave a file, replacing any earlier one."""
        values = {"key": upload_key(key), "kind": kind, "file_id": file_id}
        statement = self._insert(Upload).values(**values, uploaded_at=self.clock())
        async with self.engine.begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["key", "kind"],
                    set_={"file_id": file_id, "uploaded_at": statement.excluded.uploaded_at},
                )
            )

    async def forget_upload(self, key: str, kind: str, file_id: str) -> None:
        """Forget a file id Telegram no longer takes (unless another already replaced it)."""
        async with self._session.begin() as session:
            await session.execute(
                delete(Upload).where(
                    Upload.key == upload_key(key), Upload.kind == kind, Upload.file_id == file_id
                )
            )
