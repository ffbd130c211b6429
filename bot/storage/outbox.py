"""The outbox: one row per recipient of a broadcast, claimed, sent and settled by the sender."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import JSON, Table, bindparam, delete, func, select, update

from bot.storage.engine import Database
from bot.storage.models import (
    Broadcast,
    BroadcastState,
    CorrectionOutcome,
    Delivery,
    Outcome,
    Status,
    Subscription,
)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Job:
    """One recipient of a broadcast, claimed for sending."""

    delivery_id: int
    broadcast_id: int
    chat_id: int
    attempts: int
    language: str | None = None


@dataclass(frozen=True)
class Result:
    """How sending to one recipient ended."""

    delivery_id: int
    outcome: Outcome
    error: str | None = None
    message_ids: tuple[int, ...] = ()  # the messages it became in the chat, in order
    revision: int | None = None  # the last edit (correction id) of the text it got, if any


class Outbox(Database):
    """What the sender takes, marks and records, and what a restart puts back."""

    async def claim_jobs(self, limit: int) -> list[Job]:
        """Take up to `limit` pending recipients, oldest first, for the sender's queue.

        Recipients who left since the broadcast was queued (unsubscribed, erased their data,
        removed the bot) are dropped from it here, and checked again by `mark_sending`.
        """
        while True:
            async with self._session.begin() as session:
                # The ids first, straight from the (status, id) index; then only those rows
                # are joined. Joining first made PostgreSQL scan every pending row per claim.
                # On PostgreSQL a second claimer skips the rows this one locked (SQLite has
                # one writer at a time anyway).
                ids = list(
                    await session.scalars(
                        select(Delivery.id)
                        .where(Delivery.status == Outcome.PENDING)
                        .order_by(Delivery.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                )
                if not ids:
                    return []
                rows = (
                    await session.execute(
                        select(Delivery.id, Subscription.status, Broadcast.state)
                        .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
                        .outerjoin(
                            Subscription,
                            (Subscription.chat_id == Delivery.chat_id)
                            & (Subscription.campaign_id == Broadcast.campaign_id),
                        )
                        .where(Delivery.id.in_(ids))
                    )
                ).all()
                # A stopped broadcast may still have pending rows, put back by a restart.
                stopped = [row.id for row in rows if row.state == BroadcastState.CANCELLED]
                gone = [
                    row.id
                    for row in rows
                    if row.status != Status.ACTIVE and row.state != BroadcastState.CANCELLED
                ]
                wanted = set(ids) - set(stopped) - set(gone)
                if stopped:
                    await session.execute(
                        update(Delivery)
                        .where(Delivery.id.in_(stopped))
                        .values(status=Outcome.CANCELLED, updated_at=self.clock())
                    )
                if gone:
                    await session.execute(delete(Delivery).where(Delivery.id.in_(gone)))
                if not wanted:
                    continue
                claimed = await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(wanted), Delivery.status == Outcome.PENDING)
                    .values(status=Outcome.CLAIMED)
                    .returning(
                        Delivery.id,
                        Delivery.broadcast_id,
                        Delivery.chat_id,
                        Delivery.attempts,
                        Delivery.language,
                    )
                )
                jobs = [Job(*row) for row in claimed]
            if jobs:
                return sorted(jobs, key=lambda job: job.delivery_id)

    async def mark_sending(self, delivery_ids: Sequence[int]) -> set[int]:
        """Mark claimed recipients as handed to Telegram, just before sending; return them.

        Only recipients still subscribed, of broadcasts not stopped, are marked; the others
        are dropped here (a leaver's row is deleted; a stopped broadcast's is already
        cancelled), so nobody gets a message they stopped, however late they stopped it.
        """
        if not delivery_ids:
            return set()
        still_subscribed = (
            select(Subscription.chat_id)
            .join(Broadcast, Broadcast.campaign_id == Subscription.campaign_id)
            .where(
                Broadcast.id == Delivery.broadcast_id,
                Subscription.chat_id == Delivery.chat_id,
                Subscription.status == Status.ACTIVE,
            )
            .exists()
        )
        async with self._session.begin() as session:
            marked = await session.scalars(
                update(Delivery)
                .where(
                    Delivery.id.in_(delivery_ids),
                    Delivery.status == Outcome.CLAIMED,
                    still_subscribed,
                )
                .values(status=Outcome.SENDING, attempts=Delivery.attempts + 1)
                .returning(Delivery.id)
            )
            sending = set(marked)
            await session.execute(
                delete(Delivery).where(
                    Delivery.id.in_(delivery_ids), Delivery.status == Outcome.CLAIMED
                )
            )
        return sending

    async def release_jobs(self, delivery_ids: Sequence[int]) -> None:
        """Hand recipients the sender took but never sent back to the queue."""
        if not delivery_ids:
            return
        async with self._session.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(delivery_ids), Delivery.status == Outcome.CLAIMED)
                .values(status=Outcome.PENDING)
            )
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(delivery_ids), Delivery.status == Outcome.SENDING)
                .values(status=Outcome.PENDING, attempts=Delivery.attempts - 1)
            )

    async def record_results(self, results: Iterable[Result]) -> None:
        """Store how each recipient's sending ended, in one transaction (one executemany)."""
        table = Delivery.__table__
        assert isinstance(table, Table)
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"), table.c.status == Outcome.SENDING)
            .values(
                status=bindparam("_status"),
                error=bindparam("_error"),
                message_ids=bindparam("_messages", type_=JSON(none_as_null=True)),
                # A copy sent already corrected is marked so: the edit leaves it alone.
                fixed_by=bindparam("_fixed_by"),
                fix_status=bindparam("_fix_status"),
                updated_at=self.clock(),
            )
        )
        rows = [
            {
                "_id": r.delivery_id,
                "_status": r.outcome.value,
                "_error": r.error,
                "_messages": list(r.message_ids) or None,
                "_fixed_by": r.revision,
                "_fix_status": None if r.revision is None else CorrectionOutcome.SENT_NEW.value,
            }
            for r in results
        ]
        if rows:
            async with self._session.begin() as session:
                await session.execute(statement, rows)

    async def requeue_in_flight(self) -> int:
        """Put recipients left in flight by a crash back in the queue; return how many.

        Claimed ones were certainly not sent and go back silently; ones being sent may
        have arrived, and are counted in the broadcast's `uncertain`.
        """
        async with self._session.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.status == Outcome.CLAIMED)
                .values(status=Outcome.PENDING)
            )
            counts = (
                await session.execute(
                    select(Delivery.broadcast_id, func.count())
                    .where(Delivery.status == Outcome.SENDING)
                    .group_by(Delivery.broadcast_id)
                )
            ).all()
            for broadcast_id, count in counts:
                # They may or may not have reached the user before the crash: say so.
                await session.execute(
                    update(Broadcast)
                    .where(Broadcast.id == broadcast_id)
                    .values(uncertain=Broadcast.uncertain + count)
                )
            # A recipient that was in flight at every one of several crashes may be what
            # crashes the process: give it up rather than crash again forever.
            await session.execute(
                update(Delivery)
                .where(Delivery.status == Outcome.SENDING, Delivery.attempts >= MAX_ATTEMPTS)
                .values(
                    status=Outcome.FAILED,
                    error=f"interrupted by a restart {MAX_ATTEMPTS} times",
                    updated_at=self.clock(),
                )
            )
            await session.execute(
                update(Delivery)
                .where(Delivery.status == Outcome.SENDING)
                .values(status=Outcome.PENDING)
            )
        return sum(count for _, count in counts)

    async def finish_broadcasts(self) -> list[int]:
        """Close sending or stopped broadcasts with nothing left in flight; return their ids."""
        unfinished = (
            select(Delivery.id)
            .where(
                Delivery.broadcast_id == Broadcast.id,
                Delivery.status.in_((Outcome.PENDING, Outcome.CLAIMED, Outcome.SENDING)),
            )
            .exists()
        )
        async with self._session.begin() as session:
            done = await session.execute(
                update(Broadcast)
                .where(Broadcast.state == BroadcastState.SENDING, ~unfinished)
                .values(state=BroadcastState.DONE, finished_at=self.clock())
                .returning(Broadcast.id)
            )
            stopped = await session.execute(
                update(Broadcast)
                .where(
                    Broadcast.state == BroadcastState.CANCELLED,
                    Broadcast.finished_at.is_(None),
                    ~unfinished,
                )
                .values(finished_at=self.clock())
                .returning(Broadcast.id)
            )
            return list(done.scalars()) + list(stopped.scalars())

    async def sending_broadcasts(self) -> list[int]:
        """Return the ids of broadcasts being sent, or stopped with messages still in flight."""
        async with self._session() as session:
            rows = await session.scalars(
                select(Broadcast.id).where(
                    (Broadcast.state == BroadcastState.SENDING)
                    | (
                        (Broadcast.state == BroadcastState.CANCELLED)
                        & Broadcast.finished_at.is_(None)
                    )
                )
            )
            return list(rows)
