"""Short memory: what is no longer needed is deleted after a set time (docs/privacy.md).

Delivery rows of finished broadcasts go after DELIVERY_RETENTION, their counts kept on the
broadcast row; ended subscriptions (unsubscribed, left, blocked) after SUBSCRIPTION_RETENTION,
with the language choice of a chat that has no subscription left; audit entries after
AUDIT_RETENTION; pledges once their action is over, or gone from the campaign files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Delete, delete, func, select, tuple_, update

from bot.storage.engine import Database
from bot.storage.models import (
    AuditEntry,
    Broadcast,
    BroadcastState,
    Delivery,
    Pledge,
    Preference,
    Status,
    Subscription,
)

_PURGE_BATCH = 50  # broadcasts whose deliveries go in one transaction


@dataclass(frozen=True)
class Forgotten:
    """How many rows one look deleted, by kind."""

    deliveries: int = 0
    subscriptions: int = 0
    preferences: int = 0
    pledges: int = 0
    audit_entries: int = 0

    def __bool__(self) -> bool:
        return any(vars(self).values())


@dataclass(frozen=True)
class Periods:
    """How long each kind of row is kept."""

    deliveries: dt.timedelta = dt.timedelta(days=30)
    subscriptions: dt.timedelta = dt.timedelta(days=30)
    audit: dt.timedelta = dt.timedelta(days=365)
    orphan_pledges: dt.timedelta = dt.timedelta(days=30)


class Retention(Database):
    """Deleting what has been kept long enough."""

    async def forget_expired(
        self,
        periods: Periods,
        *,
        over: Collection[tuple[str, str]],
        known: Collection[tuple[str, str]],
    ) -> Forgotten:
        """Delete every row kept longer than its period; return how many went.

        Pledges are for actions: those of an action that is `over` (campaign id, action key)
        go now, those of an action no longer `known` go `orphan_pledges` after they were made.
        """
        now = self.clock()
        return Forgotten(
            deliveries=await self._purge_deliveries(now - periods.deliveries),
            **await self._forget_ended(now - periods.subscriptions),
            pledges=await self._forget_pledges(over, known, now - periods.orphan_pledges),
            audit_entries=await self._delete(
                delete(AuditEntry).where(AuditEntry.created_at < now - periods.audit)
            ),
        )

    async def _purge_deliveries(self, before: dt.datetime) -> int:
        """Delete the delivery rows of broadcasts finished before then, keeping their counts."""
        finished = (BroadcastState.DONE, BroadcastState.CANCELLED)
        deleted = 0
        while True:
            async with self._session.begin() as session:
                ids = list(
                    await session.scalars(
                        select(Broadcast.id)
                        .where(
                            Broadcast.state.in_(finished),
                            Broadcast.finished_at < before,
                            Broadcast.purged_at.is_(None),
                        )
                        .order_by(Broadcast.id)
                        .limit(_PURGE_BATCH)
                    )
                )
                if not ids:
                    return deleted
                counts: dict[int, dict[str, int]] = {b: {} for b in ids}
                for b, status, count in await session.execute(
                    select(Delivery.broadcast_id, Delivery.status, func.count())
                    .where(Delivery.broadcast_id.in_(ids))
                    .group_by(Delivery.broadcast_id, Delivery.status)
                ):
                    counts[b][status] = count
                for b in ids:
                    await session.execute(
                        update(Broadcast)
                        .where(Broadcast.id == b)
                        .values(kept_counts=counts[b], purged_at=self.clock())
                    )
                result = await session.execute(
                    delete(Delivery).where(Delivery.broadcast_id.in_(ids))
                )
                deleted += getattr(result, "rowcount", 0) or 0

    async def _forget_ended(self, before: dt.datetime) -> dict[str, int]:
        """Delete subscriptions that ended before then, and the language choice of a chat
        left with no subscription."""
        ended = (Status.UNSUBSCRIBED, Status.LEFT, Status.BLOCKED)
        async with self._session.begin() as session:
            subscriptions = await session.execute(
                delete(Subscription).where(
                    Subscription.status.in_(ended), Subscription.updated_at < before
                )
            )
            preferences = await session.execute(
                delete(Preference).where(
                    Preference.updated_at < before,
                    Preference.chat_id.not_in(select(Subscription.chat_id)),
                )
            )
        return {
            "subscriptions": getattr(subscriptions, "rowcount", 0) or 0,
            "preferences": getattr(preferences, "rowcount", 0) or 0,
        }

    async def _forget_pledges(
        self,
        over: Collection[tuple[str, str]],
        known: Collection[tuple[str, str]],
        orphaned_before: dt.datetime,
    ) -> int:
        action = tuple_(Pledge.campaign_id, Pledge.action)
        deleted = 0
        if over:
            deleted += await self._delete(delete(Pledge).where(action.in_(list(over))))
        orphans = delete(Pledge).where(Pledge.pledged_at < orphaned_before)
        if known:
            orphans = orphans.where(action.not_in(list(known)))
        return deleted + await self._delete(orphans)

    async def _delete(self, statement: Delete) -> int:
        async with self._session.begin() as session:
            result = await session.execute(statement)
        return getattr(result, "rowcount", 0) or 0
