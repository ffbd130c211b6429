"""What organizers read: the audit log, subscriber counts, sign-ups by day and by source."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.storage.engine import Database
from bot.storage.models import AuditEntry, Status, Subscription


@dataclass(frozen=True)
class CampaignStats:
    """Subscriber counts for one campaign."""

    campaign_id: str
    active_private: int
    active_groups: int
    unsubscribed: int
    blocked: int
    new_last_7_days: int


@dataclass(frozen=True)
class Tallies:
    """Subscriber counts per campaign, and sign-ups per campaign and source."""

    stats: list[CampaignStats]
    sources: list[tuple[str, str | None, int, int]]  # campaign, source, still subscribed, all


class Reports(Database):
    """The audit log and the counts behind /stats."""

    async def audit(self, admin_id: int, action: str, detail: str = "") -> None:
        """Write one admin action to the audit log."""
        async with self._session.begin() as session:
            session.add(
                AuditEntry(
                    admin_id=admin_id, action=action, detail=detail[:200], created_at=self.clock()
                )
            )

    async def audit_log(self, limit: int = 50) -> list[tuple[int | None, str, str, dt.datetime]]:
        """Return the latest audit entries, newest first."""
        async with self._session() as session:
            rows = await session.execute(
                select(
                    AuditEntry.admin_id,
                    AuditEntry.action,
                    AuditEntry.detail,
                    AuditEntry.created_at,
                )
                .order_by(AuditEntry.id.desc())
                .limit(limit)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    async def signups_per_day(self, since: dt.datetime) -> list[tuple[dt.date, int]]:
        """Return how many subscriptions began on each day (UTC) from `since`, oldest first."""
        day = func.date(Subscription.subscribed_at)
        async with self._session() as session:
            rows = await session.execute(
                select(day, func.count())
                .where(Subscription.subscribed_at >= since)
                .group_by(day)
                .order_by(day)
            )
            # SQLite's date() answers text, PostgreSQL's a date.
            return [(dt.date.fromisoformat(str(d)), count) for d, count in rows]

    async def stats(self) -> list[CampaignStats]:
        """Return subscriber counts per campaign."""
        return (await self.tallies()).stats

    async def signups_by_source(self) -> list[tuple[str, str | None, int, int]]:
        """Return (campaign, source, still subscribed, all) for every source, most first."""
        return (await self.tallies()).sources

    async def tallies(self) -> Tallies:
        """Return the counts per campaign and per source, from one pass over the
        subscriptions (the desk's overview wants both on every refresh, issue 21)."""
        week_ago = self.clock() - dt.timedelta(days=7)
        s = Subscription
        active = s.status == Status.ACTIVE
        is_private = s.chat_type == "private"
        async with self._session() as session:
            rows = await session.execute(
                select(
                    s.campaign_id,
                    s.source,
                    func.count().filter(active, is_private),
                    func.count().filter(active, ~is_private),
                    func.count().filter(s.status == Status.UNSUBSCRIBED),
                    func.count().filter(s.status.in_((Status.BLOCKED, Status.LEFT))),
                    func.count().filter(active, s.subscribed_at >= week_ago),
                    func.count(),
                ).group_by(s.campaign_id, s.source)
            )
            found = list(rows)
        stats: dict[str, list[int]] = {}
        sources = []
        for campaign_id, source, private, groups, unsubscribed, blocked, new, total in found:
            counts = (private, groups, unsubscribed, blocked, new)
            summed = stats.setdefault(campaign_id, [0] * len(counts))
            summed[:] = [a + b for a, b in zip(summed, counts, strict=True)]
            sources.append((campaign_id, source, private + groups, total))
        # Sources most first, then by name with no source last (as PostgreSQL sorts NULL).
        sources.sort(key=lambda row: (row[0], -row[3], row[1] is None, row[1] or ""))
        return Tallies(
            stats=[CampaignStats(c, *counts) for c, counts in sorted(stats.items())],
            sources=sources,
        )

    async def daily_changes(self, since: dt.datetime) -> list[tuple[str, dt.date, int, int]]:
        """Return (campaign, day, subscriptions begun, subscriptions ended) for each day (UTC)
        from `since` on which something changed, oldest first.

        A subscription ended when it was left, blocked or unsubscribed: its last change
        (updated_at) is when. One taken again counts from its new beginning.
        """
        s = Subscription
        begun = func.date(s.subscribed_at)
        ended = func.date(s.updated_at)
        async with self._session() as session:
            joins = await session.execute(
                select(s.campaign_id, begun, func.count())
                .where(s.subscribed_at >= since)
                .group_by(s.campaign_id, begun)
            )
            leaves = await session.execute(
                select(s.campaign_id, ended, func.count())
                .where(s.status != Status.ACTIVE, s.updated_at >= since)
                .group_by(s.campaign_id, ended)
            )
            days: dict[tuple[str, dt.date], list[int]] = {}
            for index, rows in enumerate((joins, leaves)):
                for campaign_id, day, count in rows:
                    # SQLite's date() answers text, PostgreSQL's a date.
                    key = (campaign_id, dt.date.fromisoformat(str(day)))
                    days.setdefault(key, [0, 0])[index] += count
        return [(c, day, j, left) for (c, day), (j, left) in sorted(days.items())]

    async def latest_audited(self, actions: tuple[str, ...]) -> dict[int, str]:
        """Return, per organizer, the latest of `actions` in the audit log."""
        a = AuditEntry
        async with self._session() as session:
            rows = await session.execute(
                select(a.admin_id, a.action).where(a.action.in_(actions)).order_by(a.id)
            )
            return {admin: action for admin, action in rows if admin is not None}
