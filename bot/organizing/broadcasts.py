"""The broadcasts organizers see: scheduled and running ones, then the latest finished."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.storage import CorrectionRecord, Progress, Storage

LISTED = 5  # finished broadcasts listed after the open ones, as /broadcasts has always shown


@dataclass(frozen=True)
class Failure:
    """Recipients a broadcast could not reach for one reason Telegram gave."""

    outcome: str  # "blocked" or "failed"
    reason: str
    count: int


@dataclass(frozen=True)
class Listed:
    """A broadcast as listed: its progress, who approved it, why some were not reached."""

    progress: Progress
    approved_by: int | None
    failures: list[Failure]
    rate: float | None  # messages a second since it began; None before it began
    correction: CorrectionRecord | None = None  # its latest edit or retraction confirmed

    @property
    def correctable(self) -> bool:
        """Tell whether its copies can be edited or deleted."""
        return correctable(self.progress)


def correctable(progress: Progress) -> bool:
    """Tell whether a broadcast's copies can be edited or deleted: it reached someone (or may
    soon: it is being sent)."""
    return progress.state in ("sending", "done", "cancelled") and reached_anyone(progress)


def reached_anyone(progress: Progress) -> bool:
    """Tell whether a broadcast has copies in chats (or may have soon: it is being sent)."""
    return progress.sent > 0 or progress.state == "sending"


def sending_rate(progress: Progress, now: dt.datetime) -> float | None:
    """Return the messages a second a broadcast went out at, from its start to its end (or
    now); None if it has not begun."""
    if progress.started_at is None:
        return None
    seconds = ((progress.finished_at or now) - progress.started_at).total_seconds()
    return progress.done / seconds if seconds > 0 else None


async def listing(storage: Storage, limit: int = LISTED) -> list[Listed]:
    """Return scheduled, awaiting and running broadcasts, then the latest `limit` finished,
    newest first."""
    now = storage.clock()
    listed = []
    recent = await storage.recent_broadcasts(limit)
    corrections = await storage.latest_corrections([p.broadcast_id for p in recent])
    for progress in recent:
        approved_by, _asked = await storage.approval_of(progress.broadcast_id)
        failures = [
            Failure(*found) for found in await storage.failure_reasons(progress.broadcast_id)
        ]
        rate = sending_rate(progress, now)
        correction = corrections.get(progress.broadcast_id)
        listed.append(Listed(progress, approved_by, failures, rate, correction))
    return listed
