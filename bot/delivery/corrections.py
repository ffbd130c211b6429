"""The correction worker: edits or deletes every delivered copy of a broadcast, paced, resumable.

An organizer confirms an edit or a retraction (bot/handlers/corrections.py); this worker, in
the one process that sends broadcasts, takes the broadcast's delivered copies in batches
(`storage.claim_copies`), edits or deletes each under Telegram's limits as broadcasts are sent,
and stores how each ended in one write per batch. After a crash it carries on where it was:
copies it had taken but not recorded are tried again (an edit twice is harmless; a copy
already deleted counts as deleted) and counted as uncertain in the report.

A broadcast still being sent when an edit is confirmed: its text is corrected at once, so the
sender sends the corrected one from then on (marking those copies so), and copies sent with the
old text, in flight at that moment included, are edited once they are recorded; the worker
finishes only when the broadcast has.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import i18n, texts
from bot.campaign.markup import escape
from bot.delivery.pacing import Pacer
from bot.delivery.posts import Part, delete_messages, edit_message, planned_edits
from bot.delivery.sender import Sender, duration, progress_bar
from bot.delivery.turns import BroadcastTurn
from bot.i18n import gettext as _
from bot.storage import (
    Copy,
    CorrectionOutcome,
    CorrectionRecord,
    CorrectionTally,
    Fix,
    Storage,
    version_for,
)

logger = logging.getLogger(__name__)

# Telegram lets a bot delete its messages for everyone for 48 hours; a minute less, since a
# copy's time is when its outcome was stored, a moment after it arrived.
DELETE_WINDOW = dt.timedelta(hours=48)
_DELETE_MARGIN = dt.timedelta(minutes=1)


def version(text: dict[str, Any], language: str | None) -> list[Part]:
    """Return the parts a reader of `language` got, from a correction's stored text."""
    translations: dict[str, list[Part]] = text.get("translations") or {}
    chosen = version_for(language, translations)
    return translations[chosen] if chosen else list(text["parts"])


class Corrector:
    """One background worker applying confirmed corrections, one at a time, oldest first."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        *,
        pacer: Pacer,
        sender: Sender | None = None,
        batch: int | None = None,
        max_in_flight: int = 200,
        progress_interval: float = 3.0,
        idle_poll: float = 1.0,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.pacer = pacer
        self.sender = sender  # told to forget a broadcast's text when it is edited
        # Edits and deletions have no paid lane (allow_paid_broadcast is for sends only): they
        # take the free lane's slots, whatever the broadcasts' mode. About a quarter second of
        # them is taken at a time: what a crash can leave uncertain.
        self.batch = batch or max(8, int(pacer.free.rate / 4))
        self.progress_interval = progress_interval
        self.idle_poll = idle_poll
        self.slots = asyncio.Semaphore(max_in_flight)  # copies being corrected at once
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tell the worker a correction was confirmed."""
        self._wake.set()

    async def run(self) -> None:
        """Apply confirmed corrections until cancelled; a failed round is logged and retried."""
        while True:
            self._wake.clear()
            try:
                for correction_id in await self.storage.running_corrections():
                    await self.apply(correction_id)
            except Exception:  # the worker must not die: corrections would stall silently
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Cancelled, and then storing what was done failed (the database busy):
                    # that error must not hide the cancel, or the worker never stops.
                    logger.warning("corrections stopped before what was done was stored")
                    raise asyncio.CancelledError from None
                logger.exception("cannot apply corrections; retrying in %.0f s", self.idle_poll)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle_poll):  # not wait_for: see intake.py
                    await self._wake.wait()

    async def apply(self, correction_id: int) -> None:
        """Edit or delete every delivered copy a running correction has not reached yet."""
        record = await self.storage.correction(correction_id)
        if record is None or record.state != "running":
            return
        retried = await self.storage.resume_correction(correction_id)
        if retried:
            logger.warning(
                "correction %d: %d copies were in flight at a restart",
                record.correction_id,
                retried,
            )
        if record.kind == "edit" and self.sender is not None:
            self.sender.forget(record.broadcast_id)
        run = _Run(self, record)
        try:
            await run.work()
        finally:
            await run.stop()
        if await self.storage.finish_correction(correction_id):
            await self._report(record, final=True)
            logger.info(
                "correction %d of broadcast %d finished", correction_id, record.broadcast_id
            )

    async def _report(
        self, record: CorrectionRecord, *, final: bool, rate: float | None = None
    ) -> None:
        """Edit the organizer's status message with the correction's counts."""
        if record.status_chat_id is None or record.status_message_id is None:
            return
        tally = await self.storage.correction_tally(record.correction_id, record.broadcast_id)
        fresh = await self.storage.correction(record.correction_id)
        uncertain = fresh.uncertain if fresh else record.uncertain
        with i18n.speaking(record.report_language):
            text = correction_text(record, tally, final=final, rate=rate, uncertain=uncertain)
        try:
            await self.bot.edit_message_text(
                text, record.status_chat_id, record.status_message_id, parse_mode=ParseMode.HTML
            )
        except BadRequest as error:
            if "not modified" in error.message:
                return
            if final:
                with contextlib.suppress(TelegramError):
                    await self.bot.send_message(
                        record.status_chat_id, text, parse_mode=ParseMode.HTML
                    )
        except TelegramError:
            logger.warning("could not report correction %d", record.correction_id)


class _Run:
    """One pass of the worker over one correction's copies."""

    def __init__(self, corrector: Corrector, record: CorrectionRecord) -> None:
        self.corrector = corrector
        self.storage = corrector.storage
        self.pacer = corrector.pacer
        self.record = record
        self.queue: collections.deque[Copy] = collections.deque()
        self.fixes: list[Fix] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.started = time.monotonic()
        self.reported = time.monotonic()
        self.done = 0
        self.after = 0  # the last delivery id taken: the next batch starts after it

    async def work(self) -> None:
        """Take copies in batches and correct each in its slot, until none is left."""
        while True:
            if not self.queue:
                await self._flush()
                await self._claim()
                if not self.queue and self.after:
                    # Copies recorded late (sent while the edit began) may lie behind the
                    # cursor: one pass from the start finds them.
                    self.after = 0
                    continue
                if not self.queue:
                    if self.tasks:
                        await asyncio.wait(self.tasks)
                        continue
                    if not await self._broadcast_in_flight():
                        return
                    await self._progress()
                    await asyncio.sleep(self.corrector.idle_poll)  # for its last copies
                    continue
            copy = self.queue.popleft()
            calls = self._calls(copy)
            if isinstance(calls, Fix):  # nothing to ask Telegram
                self.fixes.append(calls)
                continue
            await self.corrector.slots.acquire()
            turn = BroadcastTurn(self.pacer)
            await turn.take()
            task = asyncio.create_task(self._fix(copy, calls, turn))
            self.tasks.add(task)
            task.add_done_callback(self._task_done)
            await self._progress()

    async def _claim(self) -> None:
        """Take the next batch of copies after the last one taken."""
        record = self.record
        claimed = await self.storage.claim_copies(
            record.correction_id, record.broadcast_id, self.corrector.batch, after=self.after
        )
        self.queue.extend(claimed)
        if claimed:
            self.after = claimed[-1].delivery_id

    async def stop(self) -> None:
        """Let corrections in flight finish briefly, store what is known, release the rest."""
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=5.0)
            for task in pending:
                task.cancel()
        await asyncio.shield(self._flush())
        untried = [copy.delivery_id for copy in self.queue]
        await asyncio.shield(self.storage.release_copies(self.record.correction_id, untried))

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.corrector.slots.release()

    async def _flush(self) -> None:
        fixes, self.fixes = self.fixes, []
        try:
            await self.storage.record_fixes(self.record.correction_id, fixes)
        except BaseException:
            self.fixes[:0] = fixes
            raise
        self.done += len(fixes)

    async def _broadcast_in_flight(self) -> bool:
        """Tell whether the broadcast still has recipients without an outcome (copies to come)."""
        progress = await self.storage.progress(self.record.broadcast_id)
        return progress is not None and progress.total > progress.done

    async def _progress(self) -> None:
        now = time.monotonic()
        if now - self.reported < self.corrector.progress_interval:
            return
        self.reported = now
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed >= 1.0 and self.done else None
        await self.corrector._report(self.record, final=False, rate=rate)

    def _calls(self, copy: Copy) -> list[tuple[int, Part]] | list[int] | Fix:
        """Return what to ask Telegram for a copy: the edits, or the ids to delete; or the Fix
        when there is nothing to ask."""
        record = self.record
        if record.kind == "delete":
            limit = DELETE_WINDOW - _DELETE_MARGIN
            if self.storage.clock() - copy.delivered_at > limit:
                return Fix(copy.delivery_id, CorrectionOutcome.TOO_OLD)
            return list(copy.message_ids)
        assert record.previous is not None and record.corrected is not None
        old = version(record.previous, copy.language)
        new = version(record.corrected, copy.language)
        edits = planned_edits(old, new, copy.message_ids) if old != new else []
        if not edits:
            return Fix(copy.delivery_id, CorrectionOutcome.UNCHANGED)
        return edits

    async def _fix(
        self, copy: Copy, calls: list[tuple[int, Part]] | list[int], turn: BroadcastTurn
    ) -> None:
        """Correct one copy in its turn (its first slot taken) and keep how it ended."""
        try:
            if self.record.kind == "delete":
                fix = await self._delete(copy, [int(c) for c in calls if isinstance(c, int)], turn)
            else:
                fix = await self._edit(copy, [c for c in calls if isinstance(c, tuple)], turn)
        except Exception as unexpected:  # every copy gets an outcome, as every recipient does
            logger.exception("unexpected error correcting delivery %d", copy.delivery_id)
            fix = Fix(copy.delivery_id, CorrectionOutcome.FAILED, type(unexpected).__name__)
        self.fixes.append(fix)

    async def _edit(self, copy: Copy, edits: list[tuple[int, Part]], turn: BroadcastTurn) -> Fix:
        for message_id, content in edits:
            await turn.wait_for_chat(copy.chat_id)
            try:
                with turn.sending():
                    await edit_message(self.corrector.bot, copy.chat_id, message_id, content)
            except BadRequest as error:
                if "not modified" in error.message:  # edited already (before a restart)
                    continue
                return _failed(copy, error)
            except TelegramError as error:
                return _failed(copy, error)
        return Fix(copy.delivery_id, CorrectionOutcome.EDITED)

    async def _delete(self, copy: Copy, message_ids: list[int], turn: BroadcastTurn) -> Fix:
        await turn.wait_for_chat(copy.chat_id)
        try:
            with turn.sending():
                await delete_messages(self.corrector.bot, copy.chat_id, message_ids)
        except BadRequest as error:
            if "not found" in error.message:
                # Gone already: deleted by this correction before a restart, or by the person.
                gone = CorrectionOutcome.DELETED if copy.retried else CorrectionOutcome.GONE
                return Fix(copy.delivery_id, gone)
            if "can't be deleted" in error.message:
                return Fix(copy.delivery_id, CorrectionOutcome.TOO_OLD)
            return _failed(copy, error)
        except TelegramError as error:
            return _failed(copy, error)
        return Fix(copy.delivery_id, CorrectionOutcome.DELETED)


def _failed(copy: Copy, error: TelegramError) -> Fix:
    """Sort Telegram's final refusal for one copy (the transport waited out 429s already)."""
    if isinstance(error, Forbidden):
        return Fix(copy.delivery_id, CorrectionOutcome.BLOCKED)
    if isinstance(error, RetryAfter):
        reason = "rate limited repeatedly (429)"
    elif isinstance(error, BadRequest):
        reason = error.message
    elif isinstance(error, NetworkError):
        reason = f"network: {error.message}"
    else:
        reason = error.message
    return Fix(copy.delivery_id, CorrectionOutcome.FAILED, reason[:200])


def correction_text(
    record: CorrectionRecord,
    tally: CorrectionTally,
    *,
    final: bool,
    rate: float | None = None,
    uncertain: int = 0,
) -> str:
    """Return the organizer's status message for an edit or a retraction."""
    edit = record.kind == "edit"
    done_ok = tally.count(
        CorrectionOutcome.EDITED if edit else CorrectionOutcome.DELETED,
    )
    gone = tally.count(CorrectionOutcome.GONE)
    old = tally.count(CorrectionOutcome.TOO_OLD)
    blocked = tally.count(CorrectionOutcome.BLOCKED)
    failed = tally.count(CorrectionOutcome.FAILED)
    not_done = old + blocked + failed
    finished = done_ok + gone + not_done
    if not final:
        title = texts.EDITING if edit else texts.DELETING
        lines = [
            _(title).format(id=record.broadcast_id),
            progress_bar(finished, finished + tally.left)
            + " · "
            + _(texts.PROGRESS_DONE).format(done=finished, total=finished + tally.left),
        ]
        if rate:
            lines.append(
                _(texts.CORRECTION_RATE).format(rate=rate, left=duration(tally.left / rate))
            )
        return "\n".join(lines)
    title = texts.EDIT_DONE if edit else texts.DELETE_DONE
    counts = _(texts.EDIT_COUNTS if edit else texts.DELETE_COUNTS)
    lines = [
        _(title).format(id=record.broadcast_id),
        counts.format(done=done_ok, not_done=not_done),
    ]
    if gone:
        lines.append(_(texts.CORRECTION_GONE).format(count=gone))
    if old:
        lines.append(_(texts.CORRECTION_TOO_OLD).format(count=old))
    if blocked:
        lines.append(_(texts.CORRECTION_BLOCKED).format(count=blocked))
    for reason, count in tally.reasons[:5]:
        lines.append(_(texts.CORRECTION_REASON).format(count=count, reason=escape(reason)))
    sent_new = tally.count(CorrectionOutcome.SENT_NEW)
    if sent_new:
        lines.append(_(texts.CORRECTION_SENT_NEW).format(count=sent_new))
    if uncertain:
        lines.append(_(texts.CORRECTION_UNCERTAIN).format(count=uncertain))
    return "\n".join(lines)
