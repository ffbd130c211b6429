"""The published campaign content: every version kept, the latest served by every process."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from bot.storage.engine import Database
from bot.storage.models import ContentVersion

KEPT_VERSIONS = 50  # the newest keep their files, to show and restore; older ones their digest


# A version's row without its files, in VersionInfo's order.
_INFO = (
    ContentVersion.id,
    ContentVersion.digest,
    ContentVersion.files,
    ContentVersion.size,
    ContentVersion.published_at,
    ContentVersion.published_by,
)


@dataclass(frozen=True)
class VersionInfo:
    """A published version, without its files."""

    version_id: int
    digest: str
    files: int
    size: int
    published_at: dt.datetime
    published_by: int | None


@dataclass(frozen=True)
class WithPrevious:
    """A version's packed files and those of the version published just before it."""

    data: bytes | None  # None: its files are gone, or there is no such version
    previous_id: int | None  # None: it is the first version
    previous_data: bytes | None  # None: the first version, or the previous one's files are gone


class Published(Database):
    """Publishing the campaign folder, and reading what was published."""

    async def publish(
        self, digest: str, data: bytes, files: int, size: int, by: int | None
    ) -> VersionInfo:
        """Keep a new version, unless the latest has these very files; return the latest."""
        v = ContentVersion
        async with self._session.begin() as session:
            newest = select(*_INFO).order_by(v.id.desc()).limit(1)
            latest = (await session.execute(newest)).first()
            if latest is not None and latest.digest == digest:
                return VersionInfo(*latest)  # its files are not read: they are these
            row = v(
                digest=digest,
                data=data,
                files=files,
                size=size,
                published_at=self.clock(),
                published_by=by,
            )
            session.add(row)
            await session.flush()
            oldest_kept = row.id - KEPT_VERSIONS + 1
            await session.execute(
                update(v).where(v.id < oldest_kept, v.data.is_not(None)).values(data=None)
            )
            return _info(row)

    async def latest_version(self) -> VersionInfo | None:
        """Return the version every process should serve, or None before any was published."""
        newest = select(*_INFO).order_by(ContentVersion.id.desc()).limit(1)
        async with self._session() as session:
            row = (await session.execute(newest)).first()
        return None if row is None else VersionInfo(*row)

    async def versions(self, limit: int) -> list[VersionInfo]:
        """Return the newest published versions, newest first."""
        listed = select(*_INFO).order_by(ContentVersion.id.desc()).limit(limit)
        async with self._session() as session:
            rows = await session.execute(listed)
        return [VersionInfo(*row) for row in rows]

    async def was_published(self, digest: str) -> bool:
        """Tell whether a folder with these files was ever published (kept whole or not)."""
        async with self._session() as session:
            found = await session.scalar(
                select(ContentVersion.id).where(ContentVersion.digest == digest).limit(1)
            )
        return found is not None

    async def version_data(self, version_id: int) -> bytes | None:
        """Return a version's packed files, or None if it is gone."""
        async with self._session() as session:
            return await session.scalar(
                select(ContentVersion.data).where(ContentVersion.id == version_id)
            )

    async def version_with_previous(self, version_id: int) -> WithPrevious:
        """Return a version's packed files and the previous version's, read together."""
        v = ContentVersion
        two = select(v.id, v.data).where(v.id <= version_id).order_by(v.id.desc()).limit(2)
        async with self._session() as session:
            rows = list(await session.execute(two))
        if not rows or rows[0].id != version_id:
            return WithPrevious(None, None, None)
        if len(rows) == 1:
            return WithPrevious(rows[0].data, None, None)
        return WithPrevious(rows[0].data, rows[1].id, rows[1].data)


def _info(row: ContentVersion) -> VersionInfo:
    return VersionInfo(row.id, row.digest, row.files, row.size, row.published_at, row.published_by)
