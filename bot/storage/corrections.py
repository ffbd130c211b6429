"""Corrections: an organizer's edit or retraction of a sent broadcast, copy by copy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, select, update

from bot.storage.engine import Database
from bot.storage.models import (
    Broadcast,
    Correction,
    CorrectionOutcome,
    CorrectionState,
    Delivery,
)


@dataclass(frozen=True)
class CorrectionRecord:
    """An edit or a retraction as stored; `previous` and `corrected` only for an edit."""

    correction_id: int
    broadcast_id: int
    kind: str
    state: str
    created_by: int | None
    created_at: dt.datetime
    previous: dict[str, Any] | None = None
    corrected: dict[str, Any] | None = None
    status_chat_id: int | None = None
    status_message_id: int | None = None
    report_language: str | None = None
    uncertain: int = 0
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


@dataclass(frozen=True)
class Copy:
    """One recipient's delivered copy of a broadcast, claimed for a correction."""

    delivery_id: int
    chat_id: int
    language: str | None
    message_ids: tuple[int, ...]
    delivered_at: dt.datetime
    retried: bool = False  # claimed before a restart: it may be corrected already


@dataclass(frozen=True)
class Fix:
    """How a correction ended for one copy."""

    delivery_id: int
    outcome: CorrectionOutcome
    error: str | None = None


@dataclass(frozen=True)
class CorrectionTally:
    """A correction's counts by outcome, and its failures' reasons with how many each."""

    counts: dict[str, int]
    reasons: list[tuple[str, int]]
    left: int  # delivered copies it has not reached yet

    def count(self, *outcomes: CorrectionOutcome) -> int:
        """Return how many copies ended in any of these outcomes."""
        return sum(self.counts.get(outcome, 0) for outcome in outcomes)


_WAITING = CorrectionOutcome.WORKING  # claimed by a run; marked "retry" by the next start
_RETRY = "retry"
# A copy still in its chat: delivered, and not deleted by an earlier retraction.
_IN_CHAT = Delivery.message_ids.is_not(None) & or_(
    Delivery.fix_status.is_(None),
    Delivery.fix_status.not_in((CorrectionOutcome.DELETED, CorrectionOutcome.GONE)),
)


class Corrections(Database):
    """Edits and retractions of sent broadcasts: confirmed once, resumable, counted."""

    async def create_correction(
        self,
        broadcast_id: int,
        kind: str,
        created_by: int,
        *,
        previous: dict[str, Any] | None = None,
        corrected: dict[str, Any] | None = None,
        status_chat_id: int | None = None,
        status_message_id: int | None = None,
        report_language: str | None = None,
    ) -> int:
        """Store a correction awaiting confirmation; return its id."""
        async with self._session.begin() as session:
            row = Correction(
                broadcast_id=broadcast_id,
                kind=kind,
                previous=previous,
                corrected=corrected,
                created_by=created_by,
                created_at=self.clock(),
                state=CorrectionState.DRAFT,
                status_chat_id=status_chat_id,
                status_message_id=status_message_id,
                uncertain=0,
                report_language=report_language,
            )
            session.add(row)
            await session.flush()
            return row.id

    async def correction(self, correction_id: int) -> CorrectionRecord | None:
        """Return a correction, or None."""
        async with self._session() as session:
            row = await session.get(Correction, correction_id)
        return None if row is None else _record(row)

    async def latest_corrections(
        self, broadcast_ids: Sequence[int]
    ) -> dict[int, CorrectionRecord]:
        """Return each of these broadcasts' latest confirmed edit or retraction (not a draft),
        by broadcast id."""
        if not broadcast_ids:
            return {}
        async with self._session() as session:
            rows = await session.scalars(
                select(Correction)
                .where(
                    Correction.broadcast_id.in_(broadcast_ids),
                    Correction.state != CorrectionState.DRAFT,
                )
                .order_by(Correction.id)
            )
            return {row.broadcast_id: _record(row) for row in rows}

    async def correction_asked_in(self, chat_id: int, message_id: int) -> CorrectionRecord | None:
        """Return the draft edit whose question is this message (the organizer replied), or
        None."""
        async with self._session() as session:
            row = await session.scalar(
                select(Correction).where(
                    Correction.status_chat_id == chat_id,
                    Correction.status_message_id == message_id,
                    Correction.state == CorrectionState.DRAFT,
                    Correction.corrected.is_(None),
                )
            )
        return None if row is None else _record(row)

    async def start_correction(
        self, correction_id: int, status_chat_id: int, status_message_id: int
    ) -> str:
        """Confirm a draft correction, once: "started", "already" (not a draft any more) or
        "busy" (another correction of its broadcast is running, or it changed since).

        An edit writes the corrected text into the broadcast in the same transaction, so
        recipients it has not reached yet get the corrected one.
        """
        async with self._session.begin() as session:
            row = await session.get(Correction, correction_id, with_for_update=True)
            asking = row is not None and row.kind == "edit" and row.corrected is None
            if row is None or row.state != CorrectionState.DRAFT or asking:
                return "already"  # an Edit question with no answer yet has nothing to apply
            broadcast = await session.get(Broadcast, row.broadcast_id, with_for_update=True)
            running = await session.scalar(
                select(func.count()).where(
                    Correction.broadcast_id == row.broadcast_id,
                    Correction.state == CorrectionState.RUNNING,
                )
            )
            if broadcast is None or running:
                return "busy"
            if row.corrected is not None:
                if _text_of(broadcast) != row.previous:
                    return "busy"  # edited by another correction since this one was shown
                broadcast.parts = row.corrected["parts"]
                broadcast.translations = row.corrected["translations"] or None
            row.state = CorrectionState.RUNNING
            row.status_chat_id, row.status_message_id = status_chat_id, status_message_id
            row.started_at = self.clock()
        return "started"

    async def cancel_correction(self, correction_id: int) -> bool:
        """Drop a correction awaiting confirmation (or approval); return False if it was
        neither."""
        waiting = (CorrectionState.DRAFT, CorrectionState.AWAITING)
        async with self._session.begin() as session:
            result = await session.execute(
                update(Correction)
                .where(Correction.id == correction_id, Correction.state.in_(waiting))
                .values(state=CorrectionState.CANCELLED, finished_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def running_corrections(self) -> list[int]:
        """Return the ids of confirmed corrections not finished yet, oldest first."""
        async with self._session() as session:
            rows = await session.scalars(
                select(Correction.id)
                .where(Correction.state == CorrectionState.RUNNING)
                .order_by(Correction.id)
            )
            return list(rows)

    async def broadcast_revision(self, broadcast_id: int) -> int | None:
        """Return the id of the last edit confirmed for a broadcast, or None."""
        async with self._session() as session:
            return await session.scalar(
                select(func.max(Correction.id)).where(
                    Correction.broadcast_id == broadcast_id,
                    Correction.kind == "edit",
                    Correction.state.in_((CorrectionState.RUNNING, CorrectionState.DONE)),
                )
            )

    async def delivered_languages(self, broadcast_id: int) -> dict[str | None, int]:
        """Return how many copies of a broadcast are in chats so far, by reader language."""
        async with self._session() as session:
            rows = await session.execute(
                select(Delivery.language, func.count())
                .where(Delivery.broadcast_id == broadcast_id, _IN_CHAT)
                .group_by(Delivery.language)
            )
            return {language: count for language, count in rows}

    async def resume_correction(self, correction_id: int) -> int:
        """Mark the copies a previous run left in flight to be tried again; return how many
        (counted in the correction's `uncertain`)."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Delivery)
                .where(Delivery.fixed_by == correction_id, Delivery.fix_status == _WAITING)
                .values(fix_status=_RETRY)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                await session.execute(
                    update(Correction)
                    .where(Correction.id == correction_id)
                    .values(uncertain=Correction.uncertain + count)
                )
        return count

    async def claim_copies(
        self, correction_id: int, broadcast_id: int, limit: int, after: int = 0
    ) -> list[Copy]:
        """Take up to `limit` delivered copies this correction has not reached, oldest first,
        from the delivery id `after` on (so a pass over 100,000 copies never rereads the ones
        behind it)."""
        due = or_(
            Delivery.fixed_by.is_(None),
            Delivery.fixed_by < correction_id,
            (Delivery.fixed_by == correction_id) & (Delivery.fix_status == _RETRY),
        )
        async with self._session.begin() as session:
            rows = (
                await session.execute(
                    select(
                        Delivery.id,
                        Delivery.chat_id,
                        Delivery.language,
                        Delivery.message_ids,
                        Delivery.updated_at,
                        Delivery.fix_status,
                    )
                    .where(
                        Delivery.broadcast_id == broadcast_id, Delivery.id > after, _IN_CHAT, due
                    )
                    .order_by(Delivery.id)
                    .limit(limit)
                    .with_for_update()
                )
            ).all()
            if rows:
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_([row.id for row in rows]))
                    .values(fixed_by=correction_id, fix_status=_WAITING, fix_error=None)
                )
        return [
            Copy(
                row.id,
                row.chat_id,
                row.language,
                tuple(row.message_ids or ()),
                row.updated_at,
                retried=row.fix_status == _RETRY,
            )
            for row in rows
        ]

    async def release_copies(self, correction_id: int, delivery_ids: Sequence[int]) -> None:
        """Hand back copies taken but never tried (an orderly stop): they are not uncertain."""
        if not delivery_ids:
            return
        async with self._session.begin() as session:
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(delivery_ids),
                    Delivery.fixed_by == correction_id,
                    Delivery.fix_status == _WAITING,
                )
                .values(fixed_by=None, fix_status=None)
            )

    async def record_fixes(self, correction_id: int, fixes: Sequence[Fix]) -> None:
        """Store how the correction ended for each copy, in one transaction."""
        if not fixes:
            return
        table = Delivery.__table__
        assert isinstance(table, Table)
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"), table.c.fixed_by == correction_id)
            .values(fix_status=bindparam("_status"), fix_error=bindparam("_error"))
        )
        rows = [
            {"_id": f.delivery_id, "_status": f.outcome.value, "_error": f.error} for f in fixes
        ]
        async with self._session.begin() as session:
            await session.execute(statement, rows)

    async def finish_correction(self, correction_id: int) -> bool:
        """Close a running correction; return False if it was not running."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Correction)
                .where(Correction.id == correction_id, Correction.state == CorrectionState.RUNNING)
                .values(state=CorrectionState.DONE, finished_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def correction_tally(self, correction_id: int, broadcast_id: int) -> CorrectionTally:
        """Return a correction's counts by outcome, its failures' reasons, and what is left."""
        async with self._session() as session:
            counts = {
                str(status): count
                for status, count in await session.execute(
                    select(Delivery.fix_status, func.count())
                    .where(
                        Delivery.broadcast_id == broadcast_id, Delivery.fixed_by == correction_id
                    )
                    .group_by(Delivery.fix_status)
                )
            }
            reasons = [
                (str(error), count)
                for error, count in await session.execute(
                    select(Delivery.fix_error, func.count())
                    .where(
                        Delivery.broadcast_id == broadcast_id,
                        Delivery.fixed_by == correction_id,
                        Delivery.fix_status == CorrectionOutcome.FAILED,
                    )
                    .group_by(Delivery.fix_error)
                    .order_by(func.count().desc())
                )
            ]
            left = await session.scalar(
                select(func.count()).where(
                    Delivery.broadcast_id == broadcast_id,
                    _IN_CHAT,
                    or_(Delivery.fixed_by.is_(None), Delivery.fixed_by < correction_id),
                )
            )
        pending = counts.pop(_WAITING, 0) + counts.pop(_RETRY, 0)
        return CorrectionTally(counts, reasons, (left or 0) + pending)


def _text_of(broadcast: Broadcast) -> dict[str, Any]:
    """Return a broadcast's text as a correction stores it: {"parts", "translations"}."""
    return {"parts": broadcast.parts, "translations": broadcast.translations or {}}


def text_of(parts: list[Any], translations: dict[str, Any]) -> dict[str, Any]:
    """Return a broadcast's versions in the shape a correction keeps them."""
    return {"parts": list(parts), "translations": dict(translations)}


def _record(row: Correction) -> CorrectionRecord:
    return CorrectionRecord(
        correction_id=row.id,
        broadcast_id=row.broadcast_id,
        kind=row.kind,
        state=row.state,
        created_by=row.created_by,
        created_at=row.created_at,
        previous=row.previous,
        corrected=row.corrected,
        status_chat_id=row.status_chat_id,
        status_message_id=row.status_message_id,
        report_language=row.report_language,
        uncertain=row.uncertain,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
