"""A broadcast's turn: the one place that takes the overall slots of its sends to one chat."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from bot import metrics

if TYPE_CHECKING:
    from bot.delivery.pacing import Pacer

# Set around a broadcast's sends (BroadcastTurn.sending), for the transport to find.
_current: contextvars.ContextVar[BroadcastTurn | None] = contextvars.ContextVar(
    "broadcast_turn", default=None
)


def broadcast_turn() -> BroadcastTurn | None:
    """Return the broadcast turn whose sends are being made, or None (an answer's, or no send)."""
    return _current.get()


@contextlib.contextmanager
def queued(lane: str) -> Iterator[None]:
    """Count a call's wait for a slot in `lane`: queued while it lasts, then how long it was."""
    waiting = metrics.QUEUED.labels(lane)
    waiting.inc()
    started = time.monotonic()
    try:
        yield
    finally:
        waiting.dec()
        metrics.WAIT.labels(lane).observe(time.monotonic() - started)


class BroadcastTurn:
    """A broadcast's sends to one chat, and the one place that takes their overall slots.

    Broadcasts get only the slots no answer wants (`Pacer.broadcast_slot`). The sender takes
    the first before it starts the chat's delivery (`take`), so that it starts no more of them
    than the lane has slots. Each try to Telegram uses the slot held, or takes a fresh one: for
    a retry and for the chat's next message (the held one was used), after a 429 paused every
    send since it was taken, and when the chat's own pace made the send wait (the held one
    went by meanwhile).
    """

    def __init__(self, pacer: Pacer, *, paid: bool = False, held: bool = False) -> None:
        self.pacer = pacer
        self.paid = paid
        self.lane = "paid" if paid else "broadcast"
        self.held = held  # a slot taken for the next try, not used yet

    async def take(self) -> None:
        """Wait for a slot no answer wants, and hold it for the next try."""
        await self.pacer.broadcast_slot(paid=self.paid)
        self.held = True

    async def wait_for_chat(self, chat_id: int, messages: int = 1) -> None:
        """Wait for the chat's turn for `messages` (an album's), then hold a slot for the first
        and take one for each of the others."""
        if await self.pacer.chat_turn(chat_id, messages) or not self.held:
            await self.take()
        for _more in range(messages - 1):
            await self.pacer.broadcast_slot(paid=self.paid)

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """Make the calls to Telegram in this block this broadcast's tries."""
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)

    async def for_try(self) -> None:
        """Give a try its slot: the one held, unless a pause began since; else a fresh one."""
        held, self.held = self.held, False
        if held and self.pacer.paused_for() <= 0:
            return
        with queued(self.lane):
            await self.pacer.broadcast_slot(paid=self.paid)
