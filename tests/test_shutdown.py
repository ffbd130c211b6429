"""The bot's background loops stop when cancelled, even when woken in the same moment.

On Python 3.11, `asyncio.wait_for` returns instead of raising if the cancel lands as the wait
ends: a loop waiting that way never stopped, and a shutdown (and a test's teardown, in CI)
hung for good. Waking a loop and cancelling it in the same step is that moment, for certain.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.storage import Storage

from .conftest import ADMIN, Harness, fast_pacer, open_storage, serving, until
from .test_corrections import ask_edit, sent_broadcast


async def _cancelled_at_wake(task: asyncio.Task[None], wake: object) -> None:
    wake()  # type: ignore[operator]
    task.cancel()
    done, _pending = await asyncio.wait({task}, timeout=5.0)
    assert done == {task}, f"{task.get_name()} did not stop when cancelled"
    assert task.cancelled()


async def test_the_dispatcher_stops_when_cancelled_as_it_is_woken(bot: Harness) -> None:
    """The inbox's dispatcher, idle, woken and cancelled at once, stops."""
    task = bot.application.bot_data["intake_tasks"][0]
    await asyncio.sleep(0.1)  # idle: waiting to be woken
    await _cancelled_at_wake(task, bot.application.bot_data["intake"].dispatcher.wake)


async def test_the_sender_and_corrector_stop_when_cancelled_as_they_are_woken(
    bot: Harness,
) -> None:
    """The broadcast sender and the corrections worker, idle, woken and cancelled, stop."""
    services = bot.application.bot_data["services"]
    await until(lambda: services.corrector is not None, "the sender's lock")
    await asyncio.sleep(0.1)
    corrector, sender = services.corrector, services.sender
    for name, wake in (("corrections", corrector.wake), ("sending", lambda: sender.wake(1))):
        (task,) = [t for t in asyncio.all_tasks() if t.get_name() == name]
        await _cancelled_at_wake(task, wake)


async def test_the_corrector_stops_when_cancelled_while_the_database_is_busy(
    tmp_path: Path,
) -> None:
    """Cancelled mid-correction while another writer holds SQLite's lock: storing what was done
    fails after the busy timeout, and the worker stops anyway (the failure once hid the cancel,
    the worker retried for good, and a shutdown hung)."""
    storage: Storage = await open_storage("sqlite", tmp_path)
    people = list(range(7001, 7041))
    try:
        async with serving(storage, pacer=fast_pacer(rate=10.0)) as bot:
            await sent_broadcast(bot, "Strike on Monday", people)
            await ask_edit(bot, 1, "Strike on Tuesday")
            apply = int(bot.last(ADMIN)["message_id"])
            await bot.press(bot.buttons(ADMIN)["✅ Apply"], user=ADMIN, message_id=apply)
            await until(lambda: bot.api.calls_to("editMessageText"), "the first copy edited")
            writer = sqlite3.connect(tmp_path / "test.db", isolation_level=None)
            writer.execute("BEGIN IMMEDIATE")  # another writer holds the lock
            try:
                (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "corrections"]
                await asyncio.sleep(0.3)  # its copies in flight, its next write waiting
                task.cancel()
                done, _pending = await asyncio.wait({task}, timeout=25.0)
                assert done == {task}, "the corrections worker did not stop when cancelled"
            finally:
                writer.execute("ROLLBACK")
                writer.close()
    finally:
        await storage.close()
