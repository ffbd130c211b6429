"""Two organizers for big sends: a broadcast over APPROVAL_THRESHOLD waits for a second one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select, update

from bot.storage.broadcasts import start_claimed
from bot.storage.engine import Database
from bot.storage.models import (
    ApprovalAsk,
    Broadcast,
    BroadcastState,
    Correction,
    CorrectionState,
)

# A request is decided, withdrawn or expired (a day) long before: its asks are dropped then.
_ASKS_KEPT = dt.timedelta(days=2)


class Approvals(Database):
    """Asking for, giving and refusing a second organizer's approval, each once."""

    async def ask_approval(
        self, broadcast_id: int, status_chat_id: int, status_message_id: int
    ) -> bool:
        """Hold a confirmed draft until another organizer approves it; False if it was not a
        draft (sent, scheduled, cancelled, or already waiting)."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.DRAFT)
                .values(
                    state=BroadcastState.AWAITING,
                    approval_asked_at=self.clock(),
                    status_chat_id=status_chat_id,
                    status_message_id=status_message_id,
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def approve(
        self, broadcast_id: int, organizer: int, asked_after: dt.datetime
    ) -> int | None:
        """Approve a waiting broadcast by an organizer other than its author, if it was asked
        for after `asked_after`: queue it now, or schedule it. Return its recipients (as
        `start_broadcast` does); None if it was not waiting, is the organizer's own, or the
        request expired."""
        async with self._session.begin() as session:
            return await start_claimed(
                session,
                self.clock(),
                broadcast_id,
                [
                    Broadcast.state == BroadcastState.AWAITING,
                    Broadcast.created_by != organizer,
                    Broadcast.approval_asked_at >= asked_after,
                ],
                approved_by=organizer,
            )

    async def reject(self, broadcast_id: int, organizer: int) -> bool:
        """Refuse a waiting broadcast (its author may withdraw it the same way); False if it
        was not waiting."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.AWAITING)
                .values(state=BroadcastState.CANCELLED, approved_by=None, finished_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def approval_of(self, broadcast_id: int) -> tuple[int | None, dt.datetime | None]:
        """Return who approved a broadcast (None: nobody), and when approval was asked."""
        async with self._session() as session:
            row = (
                await session.execute(
                    select(Broadcast.approved_by, Broadcast.approval_asked_at).where(
                        Broadcast.id == broadcast_id
                    )
                )
            ).one_or_none()
        return (row[0], row[1]) if row else (None, None)

    async def ask_correction_approval(
        self, correction_id: int, status_chat_id: int, status_message_id: int
    ) -> bool:
        """Hold a confirmed edit or retraction until another organizer approves it; False if
        it was not waiting for confirmation."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Correction)
                .where(
                    Correction.id == correction_id,
                    Correction.state == CorrectionState.DRAFT,
                    Correction.corrected.is_not(None) | (Correction.kind == "delete"),
                )
                .values(
                    state=CorrectionState.AWAITING,
                    approval_asked_at=self.clock(),
                    status_chat_id=status_chat_id,
                    status_message_id=status_message_id,
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def approve_correction(
        self, correction_id: int, organizer: int, asked_after: dt.datetime
    ) -> bool:
        """Approve a waiting correction by an organizer other than its author, if asked for
        after `asked_after`: it is a confirmed draft again, for `start_correction`. False if
        it was not waiting, is the organizer's own, or the request expired."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Correction)
                .where(
                    Correction.id == correction_id,
                    Correction.state == CorrectionState.AWAITING,
                    Correction.created_by != organizer,
                    Correction.approval_asked_at >= asked_after,
                )
                .values(state=CorrectionState.DRAFT, approved_by=organizer)
            )
        return bool(getattr(result, "rowcount", 0))

    async def reject_correction(self, correction_id: int) -> bool:
        """Refuse a waiting correction; False if it was not waiting."""
        async with self._session.begin() as session:
            result = await session.execute(
                update(Correction)
                .where(
                    Correction.id == correction_id, Correction.state == CorrectionState.AWAITING
                )
                .values(state=CorrectionState.CANCELLED, finished_at=self.clock())
            )
        return bool(getattr(result, "rowcount", 0))

    async def record_asks(
        self, subject: str, subject_id: int, messages: Sequence[tuple[int, int]]
    ) -> None:
        """Keep the (chat, message id) of each message that asked for `subject`'s approval
        ("broadcast" or "correction"), and drop those of long-gone requests."""
        now = self.clock()
        async with self._session.begin() as session:
            gone = ApprovalAsk.asked_at < now - _ASKS_KEPT
            await session.execute(delete(ApprovalAsk).where(gone))
            session.add_all(
                ApprovalAsk(
                    subject=subject,
                    subject_id=subject_id,
                    chat_id=chat_id,
                    message_id=message_id,
                    asked_at=now,
                )
                for chat_id, message_id in messages
            )

    async def take_asks(self, subject: str, subject_id: int) -> list[tuple[int, int]]:
        """Return and forget the messages that asked for `subject`'s approval: once each, so
        two deciders at once do not both edit them."""
        a = ApprovalAsk
        async with self._session.begin() as session:
            rows = await session.execute(
                delete(a)
                .where(a.subject == subject, a.subject_id == subject_id)
                .returning(a.chat_id, a.message_id)
            )
            return sorted((chat_id, message_id) for chat_id, message_id in rows)
