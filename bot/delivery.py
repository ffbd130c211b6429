"""The broadcast sender: works the outbox, under Telegram's limits, to an outcome for everyone."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot import texts
from bot.markup import escape
from bot.storage import Job, Outcome, Progress, Result, Storage

logger = logging.getLogger(__name__)

# Telegram: about 30 messages per second overall, and 20 per minute to one group
# (core.telegram.org/bots/faq, "My bot is hitting limits").
FREE_RATE = 30.0
GROUP_PER_MINUTE = 20
MAX_RETRY_AFTER = 5
NETWORK_RETRY_DELAYS = (1.0, 2.0, 4.0)


class Pacer:
    """Spaces sends: an overall rate, a per-group rate, and a pause for all after a 429."""

    def __init__(
        self,
        rate: float = FREE_RATE,
        group_per_minute: int = GROUP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / rate
        self.group_per_minute = group_per_minute
        self.clock = clock
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._group_sends: dict[int, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds`, as Telegram's RetryAfter asks."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def acquire(self) -> None:
        """Wait for the next overall send slot."""
        while True:
            now = self.clock()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            # A pause that began while we slept holds this send too.
            if self.clock() >= self._paused_until:
                return

    async def hold_while_paused(self) -> None:
        """Wait out a pause that began after this send took its slot, then take a new slot."""
        if self.clock() < self._paused_until:
            await self.acquire()

    def group_delay(self, chat_id: int) -> float:
        """Return how long a group must wait before its next message (0 for private chats)."""
        if chat_id > 0:
            return 0.0
        sends = self._group_sends[chat_id]
        now = self.clock()
        while sends and now - sends[0] >= 60.0:
            sends.popleft()
        if len(sends) < self.group_per_minute:
            return 0.0
        return 60.0 - (now - sends[0])

    def record(self, chat_id: int) -> None:
        """Note a message sent to a group, for its per-minute limit."""
        if chat_id < 0:
            self._group_sends[chat_id].append(self.clock())


ProgressHook = Callable[[Progress], Awaitable[None]]


class Sender:
    """One background worker that sends queued deliveries, paced, recording every outcome."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        *,
        rate: float = FREE_RATE,
        batch: int = 20,
        max_in_flight: int = 100,
        flush_interval: float = 0.5,
        progress_interval: float = 3.0,
        idle_poll: float = 5.0,
        network_retry_delays: tuple[float, ...] = NETWORK_RETRY_DELAYS,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.pacer = Pacer(rate)
        self.batch = batch
        self.flush_interval = flush_interval
        self.progress_interval = progress_interval
        self.idle_poll = idle_poll
        self.network_retry_delays = network_retry_delays
        self._slots = asyncio.Semaphore(max_in_flight)
        self._wake = asyncio.Event()
        self._results: list[Result] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._parts: dict[int, list[str]] = {}
        self._touched: set[int] = set()
        self._last_progress: dict[int, float] = {}
        self._queue: collections.deque[Job] = collections.deque()
        self._stopping = asyncio.Event()

    def wake(self, broadcast_id: int) -> None:
        """Tell the sender a broadcast was queued; it alone reports on it from now on."""
        self._touched.add(broadcast_id)
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled; on start, requeue what a crash left in flight."""
        requeued = await self.storage.requeue_in_flight()
        if requeued:
            logger.warning("requeued %d deliveries left in flight by a previous run", requeued)
        self._touched.update(await self.storage.sending_broadcasts())
        flusher = asyncio.create_task(self._flush_periodically())
        try:
            await self._send_loop()
        finally:
            # An orderly stop: let the flusher finish the write it may be in the middle of
            # (cancelling it there would lose results and resend those messages), let sends in
            # flight finish, and hand claimed-but-unsent recipients back to the queue.
            self._stopping.set()
            await flusher
            await self._drain()
            await self.storage.release_jobs([job.delivery_id for job in self._queue])

    async def _send_loop(self) -> None:
        while True:
            try:
                if not self._queue:
                    self._queue.extend(await self.storage.claim_jobs(self.batch))
                    logger.debug("claimed %d deliveries", len(self._queue))
            except SQLAlchemyError:
                logger.exception("cannot read the outbox; retrying in %.0f s", self.idle_poll)
                await asyncio.sleep(self.idle_poll)
                continue
            if not self._queue:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll)
                continue
            await self._slots.acquire()
            await self.pacer.acquire()
            task = asyncio.create_task(self._deliver(self._queue.popleft()))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _drain(self) -> None:
        """On shutdown: let sends in flight finish briefly, then store what is known."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5.0)
            for task in pending:
                task.cancel()
        await self._flush()

    async def _parts_of(self, broadcast_id: int) -> list[str]:
        if broadcast_id not in self._parts:
            draft = await self.storage.broadcast(broadcast_id)
            self._parts[broadcast_id] = draft.parts if draft else []
        return self._parts[broadcast_id]

    async def _deliver(self, job: Job) -> None:
        """Send one recipient every part of its broadcast; the first slot is already taken."""
        chat_id = job.chat_id
        outcome: Outcome | None = Outcome.SENT
        error: str | None = None
        try:
            if not await self.storage.still_wanted(job.delivery_id):
                # They unsubscribed, or erased their data, after the batch was claimed.
                self._touched.add(job.broadcast_id)
                return
            for index, part in enumerate(await self._parts_of(job.broadcast_id)):
                if index:
                    await self.pacer.acquire()
                chat_id, outcome, error = await self._send_part(job, chat_id, part)
                if outcome is not Outcome.SENT:
                    break
        except Exception as unexpected:  # the one broad catch: every recipient gets an outcome
            # Without it the delivery would stay "sending", the broadcast would never finish,
            # and every restart would try it again.
            logger.exception("unexpected error while sending delivery %d", job.delivery_id)
            outcome, error = Outcome.FAILED, f"unexpected error: {type(unexpected).__name__}"
        if outcome is not None:
            self._results.append(Result(job.delivery_id, outcome, error))
        self._touched.add(job.broadcast_id)

    async def _send_part(
        self, job: Job, chat_id: int, text: str
    ) -> tuple[int, Outcome | None, str | None]:
        """Send one message, handling each of Telegram's answers; return the final chat id.

        The outcome is None when the recipient turned out to be a duplicate of another one
        (a migrated group subscribed under both ids): its row is gone and nothing is sent.
        """
        retry_afters = 0
        network_failures = 0
        while True:
            delay = self.pacer.group_delay(chat_id)
            if delay > 0:
                await asyncio.sleep(delay)
                await self.pacer.acquire()
            await self.pacer.hold_while_paused()
            try:
                await self.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                self.pacer.record(chat_id)
                return chat_id, Outcome.SENT, None
            except RetryAfter as error:
                retry_afters += 1
                seconds = error.retry_after
                wait = seconds.total_seconds() if hasattr(seconds, "total_seconds") else seconds
                logger.warning("Telegram asked to wait %.0f s (429); pausing all sends", wait)
                self.pacer.pause(float(wait))
                if retry_afters > MAX_RETRY_AFTER:
                    return chat_id, Outcome.FAILED, "rate limited repeatedly (429)"
            except Forbidden as error:
                await self.storage.mark_blocked(chat_id)
                return chat_id, Outcome.BLOCKED, error.message[:200]
            except ChatMigrated as error:
                logger.info(
                    "chat %d migrated to %d; moving its subscription", chat_id, error.new_chat_id
                )
                duplicates = await self.storage.migrate_chat(chat_id, error.new_chat_id)
                if job.broadcast_id in duplicates:
                    return error.new_chat_id, None, None
                chat_id = error.new_chat_id
                continue
            except BadRequest as error:
                return chat_id, Outcome.FAILED, error.message[:200]
            except NetworkError as error:  # includes TimedOut
                if network_failures >= len(self.network_retry_delays):
                    return chat_id, Outcome.FAILED, f"network: {error.message}"[:200]
                await asyncio.sleep(self.network_retry_delays[network_failures])
                network_failures += 1
            except TelegramError as error:
                return chat_id, Outcome.FAILED, error.message[:200]
            await self.pacer.acquire()

    async def _flush_periodically(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.flush_interval)
            try:
                await self._flush()
            except SQLAlchemyError:
                logger.exception("cannot store delivery results; retrying")

    async def _flush(self) -> None:
        """Store finished results in one transaction, then tell organizers how it goes."""
        results, self._results = self._results, []
        if results:
            try:
                await self.storage.record_results(results)
            except BaseException:
                self._results[:0] = results  # keep them for the next try: nothing is lost
                raise
        touched, self._touched = self._touched, set()
        finished: set[int] = set()
        if results or touched:
            finished = set(await self.storage.finish_broadcasts())
        for broadcast_id in touched | finished:
            await self._report(broadcast_id, final=broadcast_id in finished)

    async def _report(self, broadcast_id: int, *, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress.get(broadcast_id, 0.0) < self.progress_interval:
            self._touched.add(broadcast_id)
            return
        self._last_progress[broadcast_id] = now
        progress = await self.storage.progress(broadcast_id)
        if progress is None or progress.status_chat_id is None:
            return
        if final:
            self._parts.pop(broadcast_id, None)
            self._last_progress.pop(broadcast_id, None)
            logger.info(
                "broadcast %d finished: %d sent, %d blocked, %d failed of %d",
                broadcast_id,
                progress.sent,
                progress.blocked,
                progress.failed,
                progress.total,
            )
        await report_progress(self.bot, progress, final=final)


def progress_text(progress: Progress, *, final: bool) -> str:
    """Return the organizer's status line for a broadcast."""
    template = texts.BROADCAST_DONE if final else texts.BROADCAST_PROGRESS
    text = template.format(
        id=progress.broadcast_id,
        campaign=escape(progress.campaign_id),
        done=progress.done,
        total=progress.total,
        sent=progress.sent,
        blocked=progress.blocked,
        failed=progress.failed,
    )
    if progress.uncertain:
        text += texts.BROADCAST_UNCERTAIN.format(uncertain=progress.uncertain)
    return text


async def report_progress(bot: Bot, progress: Progress, *, final: bool) -> None:
    """Edit the organizer's status message; if it is gone, send the final report anew."""
    assert progress.status_chat_id is not None
    assert progress.status_message_id is not None
    text = progress_text(progress, final=final)
    try:
        await bot.edit_message_text(
            text, progress.status_chat_id, progress.status_message_id, parse_mode=ParseMode.HTML
        )
    except BadRequest as error:
        if "not modified" in error.message:
            return
        if final:
            try:
                await bot.send_message(progress.status_chat_id, text, parse_mode=ParseMode.HTML)
            except TelegramError:
                logger.warning(
                    "could not report broadcast %d to its organizer", progress.broadcast_id
                )
    except TelegramError:
        logger.warning("could not update the status of broadcast %d", progress.broadcast_id)
