"""Taking updates only as fast as they can be answered, and answering them from the inbox.

Issue 20. Telegram counts an update as handled once the bot confirms it (polling: the next
getUpdates offset; webhook: the answer 200), and never sends it again. So an update is written
to the inbox (bot/storage/inbox.py) before it is confirmed, and answered from there by the
`Dispatcher`: organizers first, then each chat's first waiting update before anyone's second,
a chat's own updates one at a time and in order. A process holds only a few dozen updates in
memory at a time; when `backlog` updates wait in the inbox, it takes no more (polling stops
asking, a webhook holds its answer), and Telegram keeps the rest for up to 24 hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import secrets
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from bot import metrics
from bot.delivery.pacing import Kind, Pacer, answering
from bot.handlers.context import BotApplication
from bot.storage import Storage
from bot.storage.inbox import Arrival, Waiting

logger = logging.getLogger(__name__)

IN_FLIGHT = 64  # updates being answered at once by one process: about 2 s of answers
# With paid answers: an answer must be in hand to wait out the threshold and then pay. 300
# drained 2,000 people in 30 s (4.5x the free ceiling); 1,000 drained them in 16 s, but the
# handlers of 1,000 updates at once queued at the database and the organizer waited 4 s.
PAID_IN_FLIGHT = 300
ORGANIZERS_BEYOND = 8  # organizers' updates claimed even when `in_flight` are in hand
LEASE = dt.timedelta(seconds=15)  # a claim not renewed for this long is taken again
RENEW_EVERY = 5.0  # well inside the lease: a busy event loop may be late
POLL_TIMEOUT = 10  # seconds a getUpdates waits for updates (long polling)
POLL_LIMIT = 100  # updates a getUpdates takes at most (Telegram's maximum)
FULL_WAIT = 0.5  # seconds between looks at a full inbox
STOP_GRACE = 10.0  # seconds a stopping process gives the updates it is answering
FORGET_EVERY = 600.0  # seconds between deletions of answered updates' ids
_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def arrival_of(update: Update, data: dict[str, Any]) -> Arrival:
    """Return an update as the inbox keeps it: its JSON, whose order it keeps, who sent it."""
    user = update.effective_user
    chat = update.effective_chat
    key = chat.id if chat is not None else (user.id if user is not None else None)
    return Arrival(data, key, user.id if user is not None else None)


def is_empty(update: Update) -> bool:
    """Tell whether an update is the bare stand-in of one that could not be parsed."""
    return not any(getattr(update, kind) is not None for kind in Update.ALL_TYPES)


class Dispatcher:
    """Answers the inbox's updates in their order, a bounded number at a time."""

    def __init__(
        self,
        application: BotApplication,
        storage: Storage,
        *,
        in_flight: int = IN_FLIGHT,
        lease: dt.timedelta = LEASE,
        idle: float = 0.5,
        alone: bool = False,
    ) -> None:
        self.application = application
        self.alone = alone  # no other process answers from this inbox (SQLite, or polling)
        self.storage = storage
        self.in_flight = in_flight
        self.lease = lease
        self.idle = idle  # seconds between looks at the inbox when nothing wakes us
        self.claimer = secrets.token_hex(8)
        self._answering: dict[int, asyncio.Task[None]] = {}
        self._answered: list[int] = []
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the inbox now: updates arrived, or an answer finished."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and answer updates until cancelled; then give the ones in hand a moment."""
        renew_at = time.monotonic() + RENEW_EVERY
        forget_at = time.monotonic()
        if self.alone:
            # What a killed process was answering is answered again now, not after the lease.
            with contextlib.suppress(OSError, SQLAlchemyError):
                if released := await self.storage.release_claims():
                    logger.info("answering again %d update(s) cut off by the last stop", released)
        try:
            while True:
                self._wake.clear()
                try:
                    await self._flush()
                    free = self.in_flight - len(self._answering)
                    claimed = await self.storage.claim_updates(
                        self.claimer,
                        free if free > 0 else ORGANIZERS_BEYOND,
                        self.lease,
                        # Hands full: an organizer's update is taken all the same.
                        organizers_only=free <= 0,
                    )
                    for waiting in claimed:
                        self._start(waiting)
                    if time.monotonic() >= renew_at:
                        await self.storage.renew_claims(self.claimer, list(self._answering))
                        renew_at = time.monotonic() + RENEW_EVERY
                    if time.monotonic() >= forget_at:
                        await self.storage.forget_answered()
                        forget_at = time.monotonic() + FORGET_EVERY
                except (OSError, SQLAlchemyError) as error:
                    logger.error("cannot read the inbox (%s); trying again", type(error).__name__)
                    await asyncio.sleep(1.0)
                    continue
                if claimed and len(self._answering) < self.in_flight:
                    continue  # there may be more
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancel that
                # lands as the wait ends, and this loop would never stop (a hung shutdown).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle):
                        await self._wake.wait()
        finally:
            await self._stop()

    def _start(self, waiting: Waiting) -> None:
        task = asyncio.create_task(self._answer(waiting), name=f"update-{waiting.update_id}")
        self._answering[waiting.update_id] = task

    async def _answer(self, waiting: Waiting) -> None:
        """Run the handlers of one update, its answers in its lane's order."""
        try:
            update = Update.de_json(waiting.data, self.application.bot)
            with answering(Kind(int(waiting.lane))):
                await self.application.process_update(update)
        except Exception:  # the handlers' own errors are handled inside; this is a bug
            logger.exception("could not answer update %d", waiting.update_id)
        finally:
            self._answering.pop(waiting.update_id, None)
            self._answered.append(waiting.update_id)
            self._wake.set()

    async def _flush(self) -> None:
        """Mark the answered updates done (kept in hand if the database is away)."""
        if not self._answered:
            return
        done, self._answered = self._answered, []
        try:
            await self.storage.finish_updates(done)
        except BaseException:
            self._answered.extend(done)
            raise

    async def _stop(self) -> None:
        """Let the updates in hand finish for a moment, record them, put back the rest."""
        if self._answering:
            await asyncio.wait(list(self._answering.values()), timeout=STOP_GRACE)
        for task in list(self._answering.values()):
            task.cancel()
        if self._answering:
            await asyncio.wait(list(self._answering.values()))
        with contextlib.suppress(OSError, SQLAlchemyError):
            await self._flush()
            # What was cut off is answered again by the next process to look.
            await self.storage.release_claims(self.claimer)


class Intake:
    """Writes arriving updates to the inbox, while fewer than `backlog` wait there."""

    def __init__(
        self, storage: Storage, dispatcher: Dispatcher, organizers: frozenset[int], backlog: int
    ) -> None:
        self.storage = storage
        self.dispatcher = dispatcher
        self.organizers = organizers
        self.backlog = backlog

    async def take(self, arrivals: list[Arrival]) -> None:
        """Keep `arrivals` in the inbox and wake the dispatcher."""
        if arrivals:
            await self.storage.take_updates(arrivals, self.organizers)
            self.dispatcher.wake()

    async def room(self, deadline: float | None = None) -> bool:
        """Wait until the inbox has room (or `deadline`, a monotonic time); True if it has."""
        while await self.storage.waiting_updates() >= self.backlog:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(FULL_WAIT)
        return True

    async def poll(self, application: BotApplication) -> None:
        """Take updates by long polling, as fast as they are answered, until cancelled.

        Each batch is in the inbox before the next getUpdates confirms it to Telegram.
        """
        bot = application.bot
        await _retrying("deleteWebhook", functools.partial(bot.delete_webhook))
        offset: int | None = None
        while True:
            await self.room()
            fetch = functools.partial(
                bot.get_updates,
                offset=offset,
                timeout=POLL_TIMEOUT,
                limit=POLL_LIMIT,
                allowed_updates=Update.ALL_TYPES,
            )
            updates = await _retrying("getUpdates", fetch)
            if not updates:
                continue
            arrivals = [arrival_of(u, u.to_dict()) for u in updates if not is_empty(u)]
            await _retrying_storage(functools.partial(self.take, arrivals))
            offset = updates[-1].update_id + 1


async def _retrying(what: str, call: Any) -> Any:
    """Call Telegram until it answers; say in one line what failed, never its answer's body."""
    failures = 0
    while True:
        try:
            return await call()
        except InvalidToken:
            raise
        except RetryAfter as error:
            wait = float(error.retry_after if isinstance(error.retry_after, int | float) else 1)
            logger.warning("%s: Telegram asked to wait %.0f s", what, wait)
        except Conflict:
            wait = _RETRY_DELAYS[min(failures, len(_RETRY_DELAYS) - 1)]
            logger.warning(
                "%s refused (409): another process takes this bot's updates, or a webhook is "
                "set; trying again in %.0f s",
                what,
                wait,
            )
        except TelegramError as error:
            wait = _RETRY_DELAYS[min(failures, len(_RETRY_DELAYS) - 1)]
            logger.warning("%s failed (%s); trying again in %.0f s", what, _reason(error), wait)
        failures += 1
        metrics.POLL_FAILURES.inc()
        await asyncio.sleep(wait)


async def _retrying_storage(call: Any) -> None:
    """Write to the inbox until the database takes it (nothing is confirmed meanwhile)."""
    while True:
        try:
            await call()
            return
        except (OSError, SQLAlchemyError) as error:
            reason = type(error).__name__
            logger.error("cannot keep updates in the inbox (%s); trying again", reason)
            await asyncio.sleep(1.0)


def _reason(error: TelegramError) -> str:
    """Return what failed, without the body of the answer (PTB puts a raw page in it)."""
    return error.message.split(". Parsing the server response")[0][:120]


def watch_queues(pacer: Pacer) -> None:
    """Show the send queue per kind in /metrics, read at each scrape."""
    for kind in Kind:
        name = kind.name.lower()
        count, oldest = (functools.partial(_waiting, pacer, kind, field) for field in (0, 1))
        metrics.ANSWER_QUEUE.labels(name).set_function(count)
        metrics.ANSWER_OLDEST.labels(name).set_function(oldest)


def _waiting(pacer: Pacer, kind: Kind, field: int) -> float:
    return pacer.waiting()[kind][field]


async def watch_backlog(application: BotApplication, storage: Storage, every: float) -> None:
    """Every `every` s, read the inbox's backlog and the updates still waiting at Telegram."""
    while True:
        try:
            backlog = await storage.inbox_backlog()
            for lane, count in backlog.counts.items():
                metrics.INBOX.labels(lane.name.lower()).set(count)
                metrics.INBOX_OLDEST.labels(lane.name.lower()).set(backlog.oldest[lane])
        except (OSError, SQLAlchemyError):
            pass
        try:
            info = await application.bot.get_webhook_info()
            metrics.TELEGRAM_PENDING.set(info.pending_update_count)
        except TelegramError:
            pass
        await asyncio.sleep(every)
