"""Campaign feeds: how each was last polled, and each post seen, claimed and decided once."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.engine import Database
from bot.storage.models import FeedItem, FeedItemState, FeedState

# A guid longer than the column (some feeds use whole URLs with tracking queries) is kept as
# its hash: still unique per post, still the same at every poll.
_GUID_LENGTH = 1000


def stored_guid(guid: str) -> str:
    """Return the guid as stored: itself, or its hash when it is too long for the column."""
    if len(guid) <= _GUID_LENGTH:
        return guid
    return "sha256:" + hashlib.sha256(guid.encode()).hexdigest()


@dataclass(frozen=True)
class FeedPoll:
    """How a campaign's feed was last polled."""

    url: str  # as the campaign file gives it
    feed_url: str | None  # where the feed was found, while it works
    etag: str | None
    last_modified: str | None
    failures: int  # in a row, since it last worked
    last_error: str | None
    checked_at: dt.datetime | None
    read_at: dt.datetime | None  # None: never read


@dataclass(frozen=True)
class FeedPost:
    """One post seen in a campaign's feed, and what became of it."""

    item_id: int
    campaign_id: str
    guid: str
    seen_at: dt.datetime
    state: FeedItemState
    draft: dict[str, Any] | None
    decided_by: int | None
    decided_at: dt.datetime | None
    file: str | None


def _post(row: FeedItem) -> FeedPost:
    return FeedPost(
        item_id=row.id,
        campaign_id=row.campaign_id,
        guid=row.guid,
        seen_at=row.seen_at,
        state=FeedItemState(row.state),
        draft=row.draft,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        file=row.file,
    )


class Feeds(Database):
    """Feed polls and the posts they found: a post is drafted once, and decided once."""

    async def feed_poll(self, campaign_id: str) -> FeedPoll | None:
        """Return how a campaign's feed was last polled, or None if never."""
        async with self._session() as session:
            row = await session.get(FeedState, campaign_id)
            if row is None:
                return None
            return FeedPoll(
                row.url,
                row.feed_url,
                row.etag,
                row.last_modified,
                row.failures,
                row.last_error,
                row.checked_at,
                row.read_at,
            )

    async def record_feed_read(
        self,
        campaign_id: str,
        url: str,
        feed_url: str,
        etag: str | None,
        last_modified: str | None,
    ) -> int:
        """Record a successful poll of a campaign's feed (found at feed_url, with these
        validators); return how many failures in a row it ends."""
        now = self.clock()
        async with self._session.begin() as session:
            row = await _state_row(session, campaign_id, url)
            ended = row.failures if row.url == url else 0
            row.url, row.feed_url = url, feed_url
            row.etag, row.last_modified = etag, last_modified
            row.failures, row.last_error = 0, None
            row.checked_at = row.read_at = now
        return ended

    async def record_feed_failure(self, campaign_id: str, url: str, error: str) -> int:
        """Record a failed poll of a campaign's feed; return how many failed in a row."""
        now = self.clock()
        async with self._session.begin() as session:
            row = await _state_row(session, campaign_id, url)
            if row.url != url:  # a new address starts afresh, as if never read
                row.url, row.read_at, row.failures = url, None, 0
            # The next poll starts from the address in the campaign file, unconditionally: the
            # feed may have moved, and a page's validators are not its feed's.
            row.feed_url = row.etag = row.last_modified = None
            row.failures += 1
            row.last_error = error[:500]
            row.checked_at = now
            return row.failures

    async def seen_feed_posts(self, campaign_id: str, guids: Iterable[str]) -> dict[str, str]:
        """Return, of these guids, the ones already seen in a campaign's feed, with the digest
        of the post as it was when last seen."""
        keys = {stored_guid(guid): guid for guid in guids}
        if not keys:
            return {}
        async with self._session() as session:
            rows = await session.execute(
                select(FeedItem.guid, FeedItem.digest).where(
                    FeedItem.campaign_id == campaign_id, FeedItem.guid.in_(list(keys))
                )
            )
            return {keys[guid]: digest for guid, digest in rows}

    async def note_feed_edit(self, campaign_id: str, guid: str, digest: str) -> None:
        """Remember a seen post's new digest, so that one edit is noticed once."""
        async with self._session.begin() as session:
            await session.execute(
                update(FeedItem)
                .where(FeedItem.campaign_id == campaign_id, FeedItem.guid == stored_guid(guid))
                .values(digest=digest)
            )

    async def claim_feed_post(
        self,
        campaign_id: str,
        guid: str,
        digest: str,
        state: FeedItemState,
        draft: dict[str, Any] | None = None,
    ) -> int | None:
        """Record a post as seen, unless it was already; return its id if this call claimed it.

        One INSERT ... ON CONFLICT DO NOTHING: of any number of polls, across restarts and
        processes, exactly one claims a post, so it is drafted once.
        """
        async with self.engine.begin() as connection:
            claimed = await connection.scalar(
                self._insert(FeedItem)
                .values(
                    campaign_id=campaign_id,
                    guid=stored_guid(guid),
                    digest=digest,
                    seen_at=self.clock(),
                    state=state.value,
                    draft=draft,
                )
                .on_conflict_do_nothing()
                .returning(FeedItem.id)
            )
        return None if claimed is None else int(claimed)

    async def mark_feed_post_offered(self, item_id: int) -> None:
        """Note that a draft reached at least one organizer."""
        async with self._session.begin() as session:
            await session.execute(
                update(FeedItem).where(FeedItem.id == item_id).values(offered_at=self.clock())
            )

    async def unoffered_feed_posts(self, campaign_id: str) -> list[FeedPost]:
        """Return a campaign's drafts that reached no organizer yet (Telegram refused, or the
        process stopped mid-offer), oldest first."""
        async with self._session() as session:
            rows = await session.scalars(
                select(FeedItem)
                .where(
                    FeedItem.campaign_id == campaign_id,
                    FeedItem.state == FeedItemState.DRAFTED.value,
                    FeedItem.offered_at.is_(None),
                )
                .order_by(FeedItem.id)
            )
            return [_post(row) for row in rows]

    async def drafted_feed_posts(self, limit: int = 20) -> list[FeedPost]:
        """Return the drafts waiting for an organizer's decision, newest first."""
        async with self._session() as session:
            rows = await session.scalars(
                select(FeedItem)
                .where(FeedItem.state == FeedItemState.DRAFTED.value, FeedItem.draft.is_not(None))
                .order_by(FeedItem.id.desc())
                .limit(limit)
            )
            return [_post(row) for row in rows]

    async def feed_post(self, item_id: int) -> FeedPost | None:
        """Return a post seen in a feed, by its id, or None."""
        async with self._session() as session:
            row = await session.get(FeedItem, item_id)
            return None if row is None else _post(row)

    async def decide_feed_post(self, item_id: int, state: FeedItemState, organizer: int) -> bool:
        """Mark a drafted post added or ignored; return False if it was not waiting any more.

        One conditional UPDATE from `drafted`: of two presses, however close, one decides.
        """
        async with self._session.begin() as session:
            result = await session.execute(
                update(FeedItem)
                .where(FeedItem.id == item_id, FeedItem.state == FeedItemState.DRAFTED.value)
                .values(state=state.value, decided_by=organizer, decided_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def record_feed_file(self, item_id: int, file: str) -> None:
        """Record the statement file an added post was written to."""
        async with self._session.begin() as session:
            await session.execute(
                update(FeedItem).where(FeedItem.id == item_id).values(file=file[:1000])
            )

    async def reopen_feed_post(self, item_id: int) -> bool:
        """Put an added post whose file could not be kept back to waiting for a decision."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(FeedItem)
                .where(FeedItem.id == item_id, FeedItem.state == FeedItemState.ADDED.value)
                .values(
                    state=FeedItemState.DRAFTED.value, decided_by=None, decided_at=None, file=None
                )
            )
        return bool(getattr(result, "rowcount", 0))


async def _state_row(session: AsyncSession, campaign_id: str, url: str) -> FeedState:
    """Return a campaign's feed state, locked for this transaction; a new one if it has none."""
    row = await session.get(FeedState, campaign_id, with_for_update=True)
    if row is None:
        row = FeedState(campaign_id=campaign_id, url=url, failures=0)
        session.add(row)
    return row
