"""The inbox: updates taken from Telegram and kept until answered (issue 20).

An update is written here before Telegram is told it was received (the next getUpdates offset,
or a webhook's 200), and answered from here, in the order a crowd needs: organizers first, then
each chat's first waiting update before anyone's second, and a chat's own updates one at a time,
in order. A process takes (claims) a few at a time; a claim not renewed for `lease` seconds (its
process died) is taken again by any process. An answered update keeps only its id for a day,
so that one Telegram delivers again is recognised and not answered twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, true, update
from sqlalchemy.orm import aliased

from bot.storage.engine import Database
from bot.storage.models import InboxLane, InboxUpdate, PaidAnswersDay

# Telegram keeps an update for 24 hours: past a day, it cannot be delivered again.
REMEMBER_ANSWERED = dt.timedelta(hours=25)
_NAMES = ("last_name", "username")


@dataclass(frozen=True)
class Arrival:
    """An update as it arrived: its JSON, the chat whose order it keeps, who sent it."""

    data: dict[str, Any]
    chat: int | None  # the chat, or the person for an update without a chat
    sender: int | None


@dataclass(frozen=True)
class Waiting:
    """An update claimed for answering."""

    update_id: int
    lane: InboxLane
    data: dict[str, Any]


@dataclass(frozen=True)
class Backlog:
    """Updates taken and not yet answered, per lane, and how long the oldest has waited."""

    counts: dict[InboxLane, int]
    oldest: dict[InboxLane, float]  # seconds

    @property
    def total(self) -> int:
        """Return how many updates wait in all."""
        return sum(self.counts.values())


def without_names(data: Any) -> Any:
    """Return an update's JSON with people's names left out (a first name becomes empty).

    The bot answers nobody by name, and a name is what a leaked copy would give away.
    """
    if isinstance(data, list):
        return [without_names(item) for item in data]
    if not isinstance(data, dict):
        return data
    kept = {key: without_names(value) for key, value in data.items() if key not in _NAMES}
    if "first_name" in kept:
        kept["first_name"] = ""
    if "username" in data and data.get("type") not in (None, "private"):
        kept["username"] = data["username"]  # a public group's or channel's handle
    return kept


class Inbox(Database):
    """Updates waiting to be answered: taken, claimed, answered, forgotten."""

    async def take_updates(self, arrivals: Sequence[Arrival], organizers: Iterable[int]) -> int:
        """Keep `arrivals` until answered; return how many were new (not taken before).

        An organizer's update goes in the organizer lane, whole; anyone else's without names,
        in the first lane if their chat has nothing waiting, else in the later one, unless it
        was sent before the chat's waiting first one (then it takes that one's place).
        """
        if not arrivals:
            return 0
        admins = set(organizers)
        now = self.clock()
        chats = {a.chat for a in arrivals if a.chat is not None}
        async with self._session.begin() as session:
            waiting = (
                await session.execute(
                    select(
                        InboxUpdate.chat,
                        InboxUpdate.update_id,
                        InboxUpdate.lane,
                        InboxUpdate.claimed_by,
                    ).where(InboxUpdate.chat.in_(chats), InboxUpdate.done_at.is_(None))
                )
            ).all()
            busy = {chat for chat, _, _, _ in waiting}
            # Each chat's first-lane update not yet being answered: one that was sent earlier
            # may still arrive and take its place.
            firsts = {
                chat: update_id
                for chat, update_id, lane, claimer in waiting
                if lane == InboxLane.FIRST and claimer is None
            }
            demoted: list[int] = []
            rows = []
            for arrival in arrivals:
                organizer = arrival.sender in admins
                update_id = arrival.data["update_id"]
                first = firsts.get(arrival.chat) if arrival.chat is not None else None
                if organizer:
                    lane = InboxLane.ORGANIZER
                elif first is not None and update_id < first:
                    # It was sent before the chat's waiting first, and arrived after it (two
                    # webhook posts overtaking each other): it is the chat's first now.
                    lane = InboxLane.FIRST
                    demoted.append(first)
                elif arrival.chat is not None and arrival.chat in busy:
                    lane = InboxLane.LATER
                else:
                    lane = InboxLane.FIRST
                if arrival.chat is not None:
                    busy.add(arrival.chat)
                    if lane == InboxLane.FIRST:
                        firsts[arrival.chat] = update_id
                data = arrival.data if organizer else without_names(arrival.data)
                rows.append(
                    {
                        "update_id": data["update_id"],
                        "lane": int(lane),
                        "chat": arrival.chat,
                        "payload": json.dumps(data, separators=(",", ":")).encode(),
                        "received_at": now,
                    }
                )
            for row in rows:  # a first demoted by a later arrival of this same batch
                if row["update_id"] in demoted:
                    row["lane"] = int(InboxLane.LATER)
            if demoted:
                await session.execute(
                    update(InboxUpdate)
                    .where(InboxUpdate.update_id.in_(demoted))
                    .values(lane=int(InboxLane.LATER))
                )
            inserted = await session.execute(
                self._insert(InboxUpdate)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["update_id"])
                .returning(InboxUpdate.update_id)
            )
            return len(inserted.all())

    async def claim_updates(
        self, claimer: str, limit: int, lease: dt.timedelta, *, organizers_only: bool = False
    ) -> list[Waiting]:
        """Claim up to `limit` updates to answer, in the order they should be answered (only
        organizers', if said).

        Only the oldest waiting update of each chat is offered, so a chat's updates are
        answered one at a time, in order, whichever process takes them.
        """
        now = self.clock()
        earlier = aliased(InboxUpdate)
        ahead = exists().where(
            earlier.chat == InboxUpdate.chat,
            earlier.update_id < InboxUpdate.update_id,
            earlier.done_at.is_(None),
        )
        async with self._session.begin() as session:
            ids = list(
                await session.scalars(
                    select(InboxUpdate.update_id)
                    .where(
                        InboxUpdate.done_at.is_(None),
                        or_(
                            InboxUpdate.claimed_by.is_(None),
                            InboxUpdate.claimed_at < now - lease,
                        ),
                        or_(InboxUpdate.chat.is_(None), ~ahead),
                        InboxUpdate.lane == int(InboxLane.ORGANIZER)
                        if organizers_only
                        else true(),
                    )
                    .order_by(InboxUpdate.lane, InboxUpdate.update_id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            claimed = await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id.in_(ids))
                .values(claimed_by=claimer, claimed_at=now)
                .returning(InboxUpdate.update_id, InboxUpdate.lane, InboxUpdate.payload)
            )
            found = [
                Waiting(update_id, InboxLane(lane), json.loads(payload or b"{}"))
                for update_id, lane, payload in claimed
            ]
        return sorted(found, key=lambda w: (w.lane, w.update_id))

    async def renew_claims(self, claimer: str, update_ids: Sequence[int]) -> None:
        """Keep this process's claims on updates it is still answering."""
        if not update_ids:
            return
        async with self._session.begin() as session:
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id.in_(update_ids), InboxUpdate.claimed_by == claimer)
                .values(claimed_at=self.clock())
            )

    async def finish_updates(self, update_ids: Sequence[int]) -> None:
        """Mark updates answered: their chat and content are gone, their ids kept a day.

        What else their chats have waiting goes in the later lane: that person has heard from
        the bot now. (Two updates of one chat taken at the same moment by two webhook requests
        can both find the chat with nothing waiting, and both be put in the first lane.)
        """
        if not update_ids:
            return
        answered_chats = select(InboxUpdate.chat).where(
            InboxUpdate.update_id.in_(update_ids), InboxUpdate.chat.is_not(None)
        )
        async with self._session.begin() as session:
            await session.execute(
                update(InboxUpdate)
                .where(
                    InboxUpdate.done_at.is_(None),
                    InboxUpdate.lane == int(InboxLane.FIRST),
                    InboxUpdate.update_id.not_in(update_ids),
                    InboxUpdate.chat.in_(answered_chats),
                )
                .values(lane=int(InboxLane.LATER))
            )
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id.in_(update_ids))
                .values(done_at=self.clock(), chat=None, payload=None)
            )

    async def release_claims(self, claimer: str | None = None) -> int:
        """Put claimed, unanswered updates back (all, or one claimer's); return how many.

        At the start of the only process (polling), what a killed one held is answered again.
        """
        condition = and_(InboxUpdate.done_at.is_(None), InboxUpdate.claimed_by.is_not(None))
        if claimer is not None:
            condition = and_(condition, InboxUpdate.claimed_by == claimer)
        async with self._session.begin() as session:
            result = await session.execute(
                update(InboxUpdate).where(condition).values(claimed_by=None, claimed_at=None)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def inbox_backlog(self) -> Backlog:
        """Return how many updates wait, per lane, and how long the oldest of each has."""
        now = self.clock()
        async with self._session() as session:
            rows = (
                await session.execute(
                    select(InboxUpdate.lane, func.count(), func.min(InboxUpdate.received_at))
                    .where(InboxUpdate.done_at.is_(None))
                    .group_by(InboxUpdate.lane)
                )
            ).all()
        counts = {lane: 0 for lane in InboxLane}
        oldest = {lane: 0.0 for lane in InboxLane}
        for lane, count, first in rows:
            counts[InboxLane(lane)] = count
            oldest[InboxLane(lane)] = max((now - first).total_seconds(), 0.0)
        return Backlog(counts, oldest)

    async def waiting_updates(self) -> int:
        """Return how many updates wait to be answered."""
        async with self._session() as session:
            count = await session.scalar(
                select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
            )
        return int(count or 0)

    async def forget_answered(self, now: dt.datetime | None = None) -> int:
        """Delete the ids of updates answered more than a day ago; return how many."""
        cutoff = (now or self.clock()) - REMEMBER_ANSWERED
        async with self._session.begin() as session:
            result = await session.execute(
                delete(InboxUpdate).where(
                    InboxUpdate.done_at.is_not(None), InboxUpdate.done_at < cutoff
                )
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def spend_paid_answers(self, wanted: int, per_day: int) -> int:
        """Take up to `wanted` of today's paid answers (UTC), at most `per_day` in all for
        every process together; return how many were given (0 once the day's are spent).
        A negative `wanted` gives back what was taken and not used."""
        day = self.clock().date().isoformat()
        async with self._session.begin() as session:
            await session.execute(
                self._insert(PaidAnswersDay)
                .values(day=day, spent=0)
                .on_conflict_do_nothing(index_elements=["day"])
            )
            spent = await session.scalar(
                select(PaidAnswersDay.spent).where(PaidAnswersDay.day == day).with_for_update()
            )
            given = max(min(wanted, per_day - int(spent or 0)), -int(spent or 0))
            if given:
                await session.execute(
                    update(PaidAnswersDay)
                    .where(PaidAnswersDay.day == day)
                    .values(spent=PaidAnswersDay.spent + given)
                )
        return given

    async def paid_answers_today(self) -> int:
        """Return how many answers took the paid lane today (UTC)."""
        day = self.clock().date().isoformat()
        async with self._session() as session:
            spent = await session.scalar(
                select(PaidAnswersDay.spent).where(PaidAnswersDay.day == day)
            )
        return int(spent or 0)
