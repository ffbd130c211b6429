"""One content everywhere (issue 22, item 3): every process serves the latest version of the
campaign folder published in the database (docs/architecture.md, "Published content").

- A /reload or a draft's Add that loads publishes the folder it loaded (`publish`).
- At start (`Follower.start`), a folder holding files never published (edited by hand, or a
  new deploy) is published: files first, as a single process always did. A folder holding a
  version published before is brought up to the latest.
- While running (`Follower.watch`, every WATCH_EVERY seconds), a newer version is unpacked
  into a folder of this process's own (CAMPAIGNS_DIR is never written: it may be a git
  checkout, a read-only mount, or hold someone's edits), loaded and served. A version that
  does not load here is not served, and the process says why in its log.
- A /reload of a folder that holds an older published version is refused: publishing it would
  undo what was published since (another process's /reload, a draft's Add).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.campaign.content import Content, ContentError, load_campaigns
from bot.campaign.published import SnapshotError, snapshot, unpack
from bot.storage import Storage, VersionInfo

logger = logging.getLogger(__name__)

WATCH_EVERY = 1.0  # seconds between looks for a newer version: every process within 5 s


async def publish(storage: Storage, folder: Path, by: int | None) -> VersionInfo:
    """Publish the campaign folder's files as the version to serve; return it (the latest
    already, if it holds these very files)."""
    packed = await asyncio.to_thread(snapshot, folder)
    return await storage.publish(packed.digest, packed.data, packed.files, packed.size, by)


@dataclass
class Follower:
    """Which published version this process serves, and bringing it up to the latest."""

    storage: Storage
    campaigns_dir: Path
    version_id: int | None = None
    own_folder: Path | None = None  # where versions go that CAMPAIGNS_DIR does not hold
    serving_own: bool = False  # serving from own_folder: CAMPAIGNS_DIR holds another version
    # Held while the desk writes campaign files (a save, a restore): one at a time.
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def folder(self) -> Path:
        """Return the folder whose files are served now."""
        if self.serving_own:
            assert self.own_folder is not None
            return self.own_folder
        return self.campaigns_dir

    def served(self, version: VersionInfo, folder: Path) -> None:
        """Note that this process serves `version`, loaded from `folder` (its own /reload)."""
        self.version_id = version.version_id
        self.serving_own = folder != self.campaigns_dir

    async def start(self) -> Content | None:
        """Publish the folder if it holds what was never published; else, if a newer version
        was published, return it to serve (None: serve the folder as loaded)."""
        packed = await asyncio.to_thread(snapshot, self.campaigns_dir)
        latest = await self.storage.latest_version()
        if latest is not None and latest.digest == packed.digest:
            self.version_id = latest.version_id  # served already, as loaded at start
            return None
        if not await self.storage.was_published(packed.digest):
            latest = await publish(self.storage, self.campaigns_dir, None)
            logger.info("published the campaign folder as version %d", latest.version_id)
            self.version_id = latest.version_id
            return None
        return await self.follow()

    async def follow(self) -> Content | None:
        """Return the latest version's content if it is newer than the one served (None: no
        change, or it does not load here)."""
        latest = await self.storage.latest_version()
        if latest is None or latest.version_id == self.version_id:
            return None
        try:
            async with self.writing:  # its own folder is not rewritten under a desk save
                content = await self._load(latest)
        except (ContentError, SnapshotError, OSError) as error:
            logger.error(
                "published version %d is not served here: %s", latest.version_id, _why(error)
            )
            self.version_id = latest.version_id  # not tried again until a newer one
            return None
        self.version_id = latest.version_id
        return content

    async def _load(self, latest: VersionInfo) -> Content:
        here = await asyncio.to_thread(snapshot, self.campaigns_dir)
        if here.digest == latest.digest:
            content = await asyncio.to_thread(load_campaigns, self.campaigns_dir)
            self.serving_own = False
            return content
        data = await self.storage.version_data(latest.version_id)
        if data is None:
            raise SnapshotError("its files are no longer kept")
        # CAMPAIGNS_DIR is never written here: it may be a git checkout, a read-only mount,
        # or hold edits of someone's not published yet (a /reload publishes them).
        if self.own_folder is None:
            self.own_folder = Path(tempfile.mkdtemp(prefix="solidarity-")) / "published"
        await asyncio.to_thread(unpack, data, self.own_folder)
        content = await asyncio.to_thread(load_campaigns, self.own_folder)
        self.serving_own = True
        logger.info("serving published version %d from %s", latest.version_id, self.own_folder)
        return content

    def close(self) -> None:
        """Remove this process's own folder, if it made one (at stop)."""
        if self.own_folder is not None:
            shutil.rmtree(self.own_folder.parent, ignore_errors=True)
            self.own_folder, self.serving_own = None, False

    async def watch(self, serve: Callable[[Content], None]) -> None:
        """Look for a newer version every WATCH_EVERY seconds and serve it, until cancelled."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                content = await self.follow()
            except (SQLAlchemyError, OSError) as error:  # the database away: look again
                logger.warning("cannot look for published content: %s", type(error).__name__)
                continue
            if content is not None:
                serve(content)


def _why(error: Exception) -> str:
    if isinstance(error, ContentError):
        return "; ".join(str(problem) for problem in error.problems[:3])
    return str(error)
