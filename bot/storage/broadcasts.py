"""Broadcasts: drafts, confirming and scheduling them, stopping them, and their progress."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.audience import (
    AUDIENCE_COLUMNS,
    Audience,
    audience_of,
    reader_language,
    select_recipients,
    version_for,
)
from bot.storage.engine import Database
from bot.storage.models import (
    Broadcast,
    BroadcastState,
    Delivery,
    Outcome,
    Subscription,
    UTCDateTime,
)


@dataclass(frozen=True)
class Progress:
    """Counts of a broadcast's recipients by outcome."""

    broadcast_id: int
    campaign_id: str
    state: str
    total: int
    sent: int
    blocked: int
    failed: int
    cancelled: int
    uncertain: int
    status_chat_id: int | None
    status_message_id: int | None
    created_at: dt.datetime
    send_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    report_language: str | None = None  # the organizer's, when they prepared it
    purged_at: dt.datetime | None = None  # when its delivery rows were deleted (retention)

    @property
    def done(self) -> int:
        """Return how many recipients have a final outcome."""
        return self.sent + self.blocked + self.failed + self.cancelled


async def enqueue(
    session: AsyncSession,
    now: dt.datetime,
    broadcast_id: int,
    campaign_id: str,
    audience: Audience,
) -> int:
    """Queue one delivery per recipient, and mark the broadcast as sending."""
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .values(state=BroadcastState.SENDING, started_at=now)
    )
    # One INSERT ... SELECT: recipients never pass through Python, however many there are.
    recipients = select_recipients(
        campaign_id,
        audience,
        literal(broadcast_id),
        Subscription.chat_id,
        literal(Outcome.PENDING.value),
        literal(0),
        literal(now, UTCDateTime),
        reader_language(audience),
    )
    result = await session.execute(
        insert(Delivery).from_select(
            ["broadcast_id", "chat_id", "status", "attempts", "updated_at", "language"],
            recipients,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def start_claimed(
    session: AsyncSession,
    now: dt.datetime,
    broadcast_id: int,
    conditions: Sequence[ColumnElement[bool]],
    **values: Any,
) -> int | None:
    """Claim a broadcast if `conditions` hold (setting `values` too), then queue it now or
    schedule it. Return how many recipients it has (or would have now, if scheduled); None if
    it was not claimed. One statement claims it, so two presses cannot both start it."""
    claimed = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, *conditions)
        .values(
            state=case(
                (Broadcast.send_at.is_(None), BroadcastState.SENDING),
                else_=BroadcastState.SCHEDULED,
            ),
            **values,
        )
        .returning(Broadcast.campaign_id, Broadcast.send_at, *AUDIENCE_COLUMNS)
    )
    row = claimed.one_or_none()
    if row is None:
        return None
    campaign_id, send_at, *target = row
    audience = Audience(*target)
    if send_at is None:
        return await enqueue(session, now, broadcast_id, campaign_id, audience)
    count = await session.scalar(select_recipients(campaign_id, audience, func.count()))
    return count or 0


# One message of a broadcast as bot.delivery.posts describes it: HTML text, or a dict for a
# file, an album or a poll. Storage keeps it as JSON and never looks inside.
Part = str | dict[str, Any]


@dataclass(frozen=True)
class BroadcastDraft:
    """A broadcast's content as stored."""

    broadcast_id: int
    campaign_id: str
    kind: str
    parts: list[Part]
    created_by: int | None
    state: str
    send_at: dt.datetime | None = None
    audience: Audience = Audience()
    translations: dict[str, list[Part]] = dataclasses.field(default_factory=dict)
    report_language: str | None = None

    def parts_for(self, language: str | None) -> list[Part]:
        """Return the text for a reader of this language: theirs if written, else the main one."""
        chosen = version_for(language, self.translations)
        return self.translations[chosen] if chosen else self.parts


class Broadcasts(Database):
    """A broadcast's life from draft to queued, and its counts by outcome."""

    async def create_broadcast(
        self,
        campaign_id: str,
        kind: str,
        parts: Sequence[Part],
        created_by: int,
        send_at: dt.datetime | None = None,
        *,
        audience: Audience = Audience(),
        translations: Mapping[str, Sequence[Part]] | None = None,
        report_language: str | None = None,
    ) -> int:
        """Store a broadcast awaiting confirmation (to go out at `send_at`); return its id.

        A reader of a language in `translations` gets that text instead of `parts`; the
        progress reports are in `report_language`.
        """
        async with self._session.begin() as session:
            broadcast = Broadcast(
                campaign_id=campaign_id,
                kind=kind,
                parts=list(parts),
                created_by=created_by,
                created_at=self.clock(),
                state=BroadcastState.DRAFT,
                uncertain=0,
                send_at=send_at,
                topic=audience.topic,
                audience_language=audience.language,
                main_language=audience.main_language,
                translations={k: list(v) for k, v in (translations or {}).items()} or None,
                report_language=report_language,
            )
            session.add(broadcast)
            await session.flush()
            return broadcast.id

    async def broadcast(self, broadcast_id: int) -> BroadcastDraft | None:
        """Return a broadcast's content, or None."""
        async with self._session() as session:
            row = await session.get(Broadcast, broadcast_id)
        if row is None:
            return None
        return BroadcastDraft(
            row.id,
            row.campaign_id,
            row.kind,
            row.parts,
            row.created_by,
            row.state,
            row.send_at,
            audience_of(row),
            row.translations or {},
            row.report_language,
        )

    async def start_broadcast(
        self, broadcast_id: int, status_chat_id: int, status_message_id: int
    ) -> int | None:
        """Queue a confirmed draft now, or schedule it if it has a time to go out.

        Return how many recipients it has (or would have now, if scheduled); None if the
        broadcast was not a draft (already sent, scheduled or cancelled).
        """
        async with self._session.begin() as session:
            return await start_claimed(
                session,
                self.clock(),
                broadcast_id,
                [Broadcast.state == BroadcastState.DRAFT],
                status_chat_id=status_chat_id,
                status_message_id=status_message_id,
            )

    async def start_due_broadcasts(
        self, organizers: frozenset[int]
    ) -> tuple[list[int], list[int]]:
        """Queue the scheduled broadcasts whose time has come; return (started, refused).

        A broadcast whose author is no longer an organizer is cancelled instead: the right to
        broadcast is checked when it goes out, not only when it was confirmed.
        """
        started: list[int] = []
        refused: list[int] = []
        async with self._session.begin() as session:
            due = (
                await session.execute(
                    select(
                        Broadcast.id,
                        Broadcast.campaign_id,
                        Broadcast.created_by,
                        *AUDIENCE_COLUMNS,
                    )
                    .where(
                        Broadcast.state == BroadcastState.SCHEDULED,
                        Broadcast.send_at <= self.clock(),
                    )
                    .order_by(Broadcast.send_at, Broadcast.id)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for broadcast_id, campaign_id, created_by, *target in due:
                if created_by in organizers:
                    await enqueue(
                        session, self.clock(), broadcast_id, campaign_id, Audience(*target)
                    )
                    started.append(broadcast_id)
                else:
                    await session.execute(
                        update(Broadcast)
                        .where(Broadcast.id == broadcast_id)
                        .values(state=BroadcastState.CANCELLED, finished_at=self.clock())
                    )
                    refused.append(broadcast_id)
        return started, refused

    async def next_due(self) -> dt.datetime | None:
        """Return when the next scheduled broadcast is due, or None."""
        async with self._session() as session:
            return await session.scalar(
                select(func.min(Broadcast.send_at)).where(
                    Broadcast.state == BroadcastState.SCHEDULED
                )
            )

    async def cancel_draft(self, broadcast_id: int) -> bool:
        """Cancel a broadcast awaiting confirmation (or a second organizer's approval);
        return False if it was neither."""
        waiting = (BroadcastState.DRAFT, BroadcastState.AWAITING)
        async with self._session.begin() as session:
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.state.in_(waiting))
                .values(state=BroadcastState.CANCELLED, finished_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def stop_broadcast(self, broadcast_id: int) -> str | None:
        """Stop a scheduled or sending broadcast; return the state it had, or None if neither.

        Recipients still queued are marked cancelled. Messages already on their way finish,
        and the sender writes the final report once they have.
        """
        async with self._session.begin() as session:
            before = await session.scalar(
                select(Broadcast.state)
                .where(
                    Broadcast.id == broadcast_id,
                    Broadcast.state.in_((BroadcastState.SCHEDULED, BroadcastState.SENDING)),
                )
                .with_for_update()
            )
            if before is None:
                return None
            # A scheduled one never began, so it is finished at once; a sending one is
            # finished by finish_broadcasts when its last message in flight has an outcome.
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(
                    state=BroadcastState.CANCELLED,
                    finished_at=self.clock() if before == BroadcastState.SCHEDULED else None,
                )
            )
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.broadcast_id == broadcast_id,
                    Delivery.status.in_((Outcome.PENDING, Outcome.CLAIMED)),
                )
                .values(status=Outcome.CANCELLED, updated_at=self.clock())
            )
        return str(before)

    async def progress(self, broadcast_id: int) -> Progress | None:
        """Return a broadcast's counts by outcome, or None."""
        found = await self._progress_of([broadcast_id])
        return found[0] if found else None

    async def _progress_of(self, broadcast_ids: Sequence[int]) -> list[Progress]:
        """Return the progress of several broadcasts in two queries, in the order given."""
        async with self._session() as session:
            rows = {
                row.id: row
                for row in await session.scalars(
                    select(Broadcast).where(Broadcast.id.in_(broadcast_ids))
                )
            }
            counts: dict[int, dict[str, int]] = {b: {} for b in rows}
            for b, status, count in await session.execute(
                select(Delivery.broadcast_id, Delivery.status, func.count())
                .where(Delivery.broadcast_id.in_(list(rows)))
                .group_by(Delivery.broadcast_id, Delivery.status)
            ):
                counts[b][status] = count
        return [progress_from_row(rows[b], counts[b]) for b in broadcast_ids if b in rows]

    async def recent_broadcasts(self, limit: int = 5) -> list[Progress]:
        """Return scheduled and running broadcasts, then the latest finished, newest first."""
        confirmed = Broadcast.status_message_id.is_not(None)  # drafts never confirmed: no
        open_states = (BroadcastState.AWAITING, BroadcastState.SCHEDULED, BroadcastState.SENDING)
        async with self._session() as session:
            current = list(
                await session.scalars(
                    select(Broadcast.id)
                    .where(confirmed, Broadcast.state.in_(open_states))
                    .order_by(Broadcast.id.desc())
                )
            )
            finished = list(
                await session.scalars(
                    select(Broadcast.id)
                    .where(confirmed, Broadcast.state.not_in(open_states))
                    .order_by(Broadcast.id.desc())
                    .limit(limit)
                )
            )
        return await self._progress_of(current + finished)

    async def failure_reasons(self, broadcast_id: int) -> list[tuple[str, str, int]]:
        """Return (outcome, Telegram's reason, recipients) for a broadcast's blocked and failed
        recipients, most first (the reasons of rows deleted by retention are gone)."""
        d = Delivery
        async with self._session() as session:
            rows = await session.execute(
                select(d.status, d.error, func.count())
                .where(d.broadcast_id == broadcast_id)
                .where(d.status.in_((Outcome.BLOCKED, Outcome.FAILED)))
                .group_by(d.status, d.error)
                .order_by(func.count().desc(), d.status)
            )
            return [(status, reason or "", count) for status, reason, count in rows]


def progress_from_row(row: Broadcast, counts: dict[str, int]) -> Progress:
    if row.kept_counts:  # its delivery rows are gone: the counts kept in their place
        counts = {s: row.kept_counts.get(s, 0) + counts.get(s, 0) for s in Outcome}
    return Progress(
        broadcast_id=row.id,
        campaign_id=row.campaign_id,
        state=row.state,
        total=sum(counts.values()),
        sent=counts.get(Outcome.SENT, 0),
        blocked=counts.get(Outcome.BLOCKED, 0),
        failed=counts.get(Outcome.FAILED, 0),
        cancelled=counts.get(Outcome.CANCELLED, 0),
        uncertain=row.uncertain,
        status_chat_id=row.status_chat_id,
        status_message_id=row.status_message_id,
        created_at=row.created_at,
        send_at=row.send_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        report_language=row.report_language,
        purged_at=row.purged_at,
    )
