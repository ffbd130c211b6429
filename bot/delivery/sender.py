"""The broadcast sender: works the outbox, under Telegram's limits, to an outcome for everyone."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot import i18n, metrics, texts
from bot.campaign.markup import escape
from bot.delivery.pacing import Pacer
from bot.delivery.posts import Part, message_count, send_part
from bot.delivery.turns import BroadcastTurn
from bot.i18n import gettext as _
from bot.storage import BroadcastDraft, BroadcastState, Job, Outcome, Progress, Result, Storage

logger = logging.getLogger(__name__)


async def send_in_turn(
    bot: Bot,
    turn: BroadcastTurn,
    storage: Storage,
    chat_id: int,
    part: Part,
    *,
    sent: list[int] | None = None,
) -> tuple[Outcome, str | None]:
    """Send one part of a broadcast in its turn, and sort Telegram's answer into an outcome;
    the ids of the messages it became are added to `sent`.

    The turn takes the slots (an album takes one for each of its messages, and counts them all
    in the chat's pace). The transport (bot/delivery/pacing.py) waits out 429s and tries
    Telegram again through network blips; what reaches here is final. A person who blocked
    the bot is marked so. ChatMigrated is the caller's.
    """
    await turn.wait_for_chat(chat_id, message_count(part))
    try:
        with turn.sending():
            ids = await send_part(bot, chat_id, part, paid=turn.paid)
    except RetryAfter:
        return Outcome.FAILED, "rate limited repeatedly (429)"
    except Forbidden as error:
        await storage.mark_blocked(chat_id)
        return Outcome.BLOCKED, error.message[:200]
    except ChatMigrated:
        raise
    except BadRequest as error:  # a NetworkError to PTB, but Telegram's final word
        return Outcome.FAILED, error.message[:200]
    except NetworkError as error:  # TimedOut included: tried for about ten minutes
        return Outcome.FAILED, f"network: {error.message}"[:200]
    except TelegramError as error:
        return Outcome.FAILED, error.message[:200]
    if sent is not None:
        sent.extend(ids)
    return Outcome.SENT, None


ProgressHook = Callable[[Progress], Awaitable[None]]


class Sender:
    """One background worker that sends queued deliveries, paced, recording every outcome.

    A feeder task keeps a short queue of claimed recipients ahead of the send loop and starts
    scheduled broadcasts when due. The send loop marks a few at a time as being sent (which
    also drops anyone who left, or whose broadcast was stopped), then sends them as the pacer
    allows. After a crash, only those marked can have arrived twice.
    """

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        *,
        pacer: Pacer,
        paid: bool = False,
        organizers: frozenset[int] = frozenset(),
        batch: int | None = None,
        max_in_flight: int = 200,
        flush_interval: float = 0.25,
        flush_batch: int = 50,
        progress_interval: float = 3.0,
        idle_poll: float = 1.0,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.paid = paid
        self.pacer = pacer  # the bot's transport's: answers and broadcasts share Telegram's limits
        self.rate = pacer.lane(paid=paid).rate
        self.organizers = organizers
        # The queue holds about a quarter second of sends; a twentieth of a second of them is
        # marked as being sent at a time, which bounds what a crash can leave uncertain.
        self.batch = batch or max(8, int(self.rate / 4))
        self.promote_batch = max(2, int(self.rate / 20))
        self.flush_interval = flush_interval
        self.flush_batch = flush_batch
        self.progress_interval = progress_interval
        self.idle_poll = idle_poll
        self._slots = asyncio.Semaphore(max_in_flight)
        self._wake = asyncio.Event()  # the feeder: a broadcast was queued, or the queue is low
        self._queued = asyncio.Event()  # the send loop: the feeder added recipients
        self._results: list[Result] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._drafts: dict[int, BroadcastDraft | None] = {}
        self._revisions: dict[int, int | None] = {}  # the last edit each cached draft has
        self._touched: set[int] = set()
        self._last_progress: dict[int, float] = {}
        self._first_seen: dict[int, tuple[float, int]] = {}
        self._left: dict[int, int] = {}  # recipients without an outcome, by broadcast
        self._queue: collections.deque[Job] = collections.deque()  # claimed
        self._ready: collections.deque[Job] = collections.deque()  # marked as being sent
        self._stopping = asyncio.Event()
        self._flush_soon = asyncio.Event()
        self._due_checked = 0.0

    def wake(self, broadcast_id: int) -> None:
        """Tell the sender a broadcast was queued or stopped; it alone reports on it."""
        self._touched.add(broadcast_id)
        self._due_checked = 0.0  # it may be a scheduled one that is already due
        self._wake.set()

    def forget(self, broadcast_id: int) -> None:
        """Drop a broadcast's cached text: it was edited, and who has not got it yet gets the
        corrected one (bot/delivery/corrections.py edits the copies sent before)."""
        self._drafts.pop(broadcast_id, None)
        self._revisions.pop(broadcast_id, None)

    async def run(self) -> None:
        """Send until cancelled; on start, requeue what a crash left in flight."""
        requeued = await self.storage.requeue_in_flight()
        if requeued:
            logger.warning("requeued %d deliveries left in flight by a previous run", requeued)
        self._touched.update(await self.storage.sending_broadcasts())
        flusher = asyncio.create_task(self._flush_periodically())
        feeder = asyncio.create_task(self._feed())
        try:
            await self._send_loop()
        finally:
            # An orderly stop: let the feeder and the flusher finish the database call they
            # may be in the middle of (cancelling one there would lose claims or results and
            # resend those messages), let sends in flight finish, and hand claimed-but-unsent
            # recipients back to the queue.
            self._stopping.set()
            self._wake.set()
            self._flush_soon.set()
            await feeder
            await flusher
            await self._drain()
            unsent = [*self._ready, *self._queue]
            await self.storage.release_jobs([job.delivery_id for job in unsent])
            metrics.BROADCAST_LEFT.set(0)  # another process may send them now

    async def _send_loop(self) -> None:
        while True:
            if not self._ready:
                if not self._queue:
                    self._queued.clear()
                    self._wake.set()
                    await self._queued.wait()
                    continue
                await self._mark_sending()
                continue
            await self._slots.acquire()
            # Its first slot is taken here: no more deliveries start than the lane has slots.
            turn = BroadcastTurn(self.pacer, paid=self.paid)
            await turn.take()
            job = self._ready.popleft()
            task = asyncio.create_task(self._deliver(job, turn))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    async def _feed(self) -> None:
        """Keep the queue stocked, start due broadcasts, and drop who must not get one."""
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self._start_due()
                if len(self._queue) < self.batch:
                    claimed = await self.storage.claim_jobs(self.batch)
                    if claimed:
                        self._queue.extend(claimed)
                        self._queued.set()
                        logger.debug("claimed %d deliveries", len(claimed))
                        continue  # stock up to the low-water mark before waiting
            except Exception:  # the feeder must not die: broadcasts would stall without a word
                logger.exception("cannot read the outbox; retrying in %.0f s", self.idle_poll)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle_poll):  # not wait_for: see intake.py
                        await self._stopping.wait()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle_poll):  # not wait_for: see intake.py
                    await self._wake.wait()

    async def _start_due(self) -> None:
        """Queue scheduled broadcasts whose time has come (checked every idle_poll)."""
        now = time.monotonic()
        if now - self._due_checked < self.idle_poll:
            return
        self._due_checked = now
        started, refused = await self.storage.start_due_broadcasts(self.organizers)
        for broadcast_id in started:
            logger.info("scheduled broadcast %d is due; sending", broadcast_id)
        for broadcast_id in refused:
            logger.warning(
                "scheduled broadcast %d cancelled: its author is no longer an organizer",
                broadcast_id,
            )
        self._touched.update(started + refused)

    async def _mark_sending(self) -> None:
        """Move the next few claimed recipients to the ready list, dropping who left."""
        jobs = [self._queue.popleft() for _ in range(min(self.promote_batch, len(self._queue)))]
        if len(self._queue) < self.batch:
            self._wake.set()
        marking = asyncio.ensure_future(
            self.storage.mark_sending([job.delivery_id for job in jobs])
        )
        try:
            # Shielded: cancelling a database call midway could leave its transaction open,
            # and on SQLite every later write would then wait for that lock in vain.
            sending = await asyncio.shield(marking)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                marked = await marking
                self._ready.extend(job for job in jobs if job.delivery_id in marked)
            raise  # run() hands what is in _ready back to the queue
        except Exception:
            self._queue.extendleft(reversed(jobs))
            logger.exception("cannot mark deliveries as being sent; retrying")
            await asyncio.sleep(self.idle_poll)
            return
        for job in jobs:
            if job.delivery_id in sending:
                self._ready.append(job)
            else:
                self._touched.add(job.broadcast_id)  # left, or the broadcast was stopped

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

    async def _parts_of(self, job: Job) -> list[Part]:
        """Return a job's broadcast in its recipient's language."""
        if job.broadcast_id not in self._drafts:
            # The edit first, then the text: an edit confirmed in between gives the new text
            # marked with the older edit, so its copy is edited once more (harmless), never
            # the old text marked as corrected.
            revision = await self.storage.broadcast_revision(job.broadcast_id)
            draft = await self.storage.broadcast(job.broadcast_id)
            self._drafts[job.broadcast_id], self._revisions[job.broadcast_id] = draft, revision
        draft = self._drafts[job.broadcast_id]
        return draft.parts_for(job.language) if draft else []

    async def _deliver(self, job: Job, turn: BroadcastTurn) -> None:
        """Send one recipient every part of its broadcast, in its turn."""
        chat_id = job.chat_id
        outcome: Outcome | None = Outcome.SENT
        error: str | None = None
        sent: list[int] = []  # the messages it became, for an edit or a retraction
        revision: int | None = None
        try:
            parts = await self._parts_of(job)
            revision = self._revisions.get(job.broadcast_id)  # of these parts: no await between
            for part in parts:
                chat_id, outcome, error = await self._send_part(job, turn, chat_id, part, sent)
                if outcome is not Outcome.SENT:
                    break
        except Exception as unexpected:  # the one broad catch: every recipient gets an outcome
            # Without it the delivery would stay "sending", the broadcast would never finish,
            # and every restart would try it again.
            logger.exception("unexpected error while sending delivery %d", job.delivery_id)
            outcome, error = Outcome.FAILED, f"unexpected error: {type(unexpected).__name__}"
        if outcome is not None:
            self._results.append(
                Result(job.delivery_id, outcome, error, tuple(sent), revision=revision)
            )
            if len(self._results) >= self.flush_batch:
                self._flush_soon.set()  # results not stored yet would be resent after a crash
        self._touched.add(job.broadcast_id)

    async def _send_part(
        self, job: Job, turn: BroadcastTurn, chat_id: int, part: Part, sent: list[int]
    ) -> tuple[int, Outcome | None, str | None]:
        """Send one message of a broadcast; return the final chat id and the outcome.

        The outcome is None when the recipient turned out to be a duplicate of another one
        (a migrated group subscribed under both ids): its row is gone and nothing is sent.
        """
        while True:
            try:
                outcome, error = await send_in_turn(
                    self.bot, turn, self.storage, chat_id, part, sent=sent
                )
                return chat_id, outcome, error
            except ChatMigrated as migrated:
                logger.info(
                    "chat %d migrated to %d; moving its subscription",
                    chat_id,
                    migrated.new_chat_id,
                )
                duplicates = await self.storage.migrate_chat(chat_id, migrated.new_chat_id)
                if job.broadcast_id in duplicates:
                    return migrated.new_chat_id, None, None
                chat_id = migrated.new_chat_id

    async def _flush_periodically(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):  # not wait_for: see intake.py
                    await self._flush_soon.wait()
            self._flush_soon.clear()
            try:
                await self._flush()
            except Exception:  # the database away: keep the results, try again shortly
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
            for result in results:
                metrics.BROADCAST_DELIVERIES.labels(result.outcome.value).inc()
        touched, self._touched = self._touched, set()
        finished: set[int] = set()
        if results or touched:
            try:
                finished = set(await self.storage.finish_broadcasts())
            except BaseException:
                self._touched |= touched  # or a broadcast could stay "sending" for good
                raise
        for broadcast_id in touched | finished:
            await self._report(broadcast_id, final=broadcast_id in finished)

    async def _report(self, broadcast_id: int, *, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress.get(broadcast_id, 0.0) < self.progress_interval:
            self._touched.add(broadcast_id)
            return
        self._last_progress[broadcast_id] = now
        progress = await self.storage.progress(broadcast_id)
        self._left[broadcast_id] = 0 if final or not progress else progress.total - progress.done
        metrics.BROADCAST_LEFT.set(sum(self._left.values()))
        if final:
            del self._left[broadcast_id]
        if progress is None or progress.status_chat_id is None:
            return
        if not final and progress.state != BroadcastState.SENDING:
            return  # scheduled: its message says when; stopped: the final report will come
        first = self._first_seen.setdefault(broadcast_id, (now, progress.done))
        rate = (progress.done - first[1]) / (now - first[0]) if now - first[0] >= 1.0 else None
        if final:
            self.forget(broadcast_id)
            self._last_progress.pop(broadcast_id, None)
            self._first_seen.pop(broadcast_id, None)
            logger.info(
                "broadcast %d %s: %d sent, %d blocked, %d failed, %d not sent, of %d",
                broadcast_id,
                progress.state,
                progress.sent,
                progress.blocked,
                progress.failed,
                progress.cancelled,
                progress.total,
            )
        # In the language the organizer read the preview in: the sender has no update to
        # learn it from.
        with i18n.speaking(progress.report_language):
            await report_progress(self.bot, progress, final=final, rate=rate)


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """Return a bar of `width` cells and the percentage, e.g. "▰▰▰▱▱▱▱▱▱▱ 30%"."""
    share = done / total if total else 1.0
    filled = min(width, int(share * width))
    return "▰" * filled + "▱" * (width - filled) + f" {int(share * 100)}%"


def duration(seconds: float) -> str:
    """Return a rough duration for people: "45 s", "3 min 20 s", "2 h 5 min"."""
    if seconds < 1:
        # Other languages round it up: "1 s" ("<" would also break the HTML it goes in).
        return i18n.format_units([(1, "second")], short=True) or "under a second"
    seconds = round(seconds)
    if seconds < 60:
        units = [(seconds, "second")]
    elif seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        units = (
            [(minutes, "minute"), (rest, "second")]
            if rest and minutes < 10
            else [(minutes, "minute")]
        )
    else:
        hours, rest = divmod(seconds, 3600)
        units = [(hours, "hour"), (rest // 60, "minute")] if rest >= 60 else [(hours, "hour")]
    translated = i18n.format_units(units, short=True)
    if translated is not None:
        return translated
    short = {"second": "s", "minute": "min", "hour": "h"}
    return " ".join(f"{count} {short[unit]}" for count, unit in units)


def progress_text(progress: Progress, *, final: bool, rate: float | None = None) -> str:
    """Return the organizer's status message for a broadcast."""
    counts = dict(
        id=progress.broadcast_id,
        campaign=escape(progress.campaign_id),
        done=progress.done,
        total=progress.total,
        sent=progress.sent,
        blocked=progress.blocked,
        failed=progress.failed,
        cancelled=progress.cancelled,
    )
    if not final:
        lines = [
            _(texts.BROADCAST_PROGRESS).format(**counts),
            progress_bar(progress.done, progress.total)
            + " · "
            + _(texts.PROGRESS_DONE).format(done=progress.done, total=progress.total),
        ]
        if rate:
            left = progress.total - progress.done
            lines.append(_(texts.BROADCAST_RATE).format(rate=rate, left=duration(left / rate)))
        lines.append(_(texts.BROADCAST_COUNTS).format(**counts))
        return "\n".join(lines)
    stopped = progress.state == BroadcastState.CANCELLED
    title = _(texts.BROADCAST_STOPPED) if stopped else _(texts.BROADCAST_DONE)
    took = ""
    if progress.started_at and progress.finished_at:
        took = _(texts.BROADCAST_TOOK).format(
            took=duration((progress.finished_at - progress.started_at).total_seconds())
        )
    text = title.format(**counts, took=took) + "\n" + _(texts.BROADCAST_COUNTS).format(**counts)
    if progress.cancelled:
        text += _(texts.BROADCAST_NOT_SENT).format(**counts)
    if progress.uncertain:
        text += _(texts.BROADCAST_UNCERTAIN).format(uncertain=progress.uncertain)
    return text


def stop_button(broadcast_id: int, label: str = texts.BUTTON_STOP) -> InlineKeyboardMarkup:
    """Return the button asking to stop a scheduled or running broadcast (label as in texts)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_(label), callback_data=f"bc:stop:{broadcast_id}")]]
    )


async def report_progress(
    bot: Bot, progress: Progress, *, final: bool, rate: float | None = None
) -> None:
    """Edit the organizer's status message; if it is gone, send the final report anew."""
    assert progress.status_chat_id is not None
    assert progress.status_message_id is not None
    text = progress_text(progress, final=final, rate=rate)
    markup = None if final else stop_button(progress.broadcast_id)
    try:
        await bot.edit_message_text(
            text,
            progress.status_chat_id,
            progress.status_message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
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
