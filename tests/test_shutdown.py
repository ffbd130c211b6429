"""The bot's background loops stop when cancelled, even when woken in the same moment.

On Python 3.11, `asyncio.wait_for` returns instead of raising if the cancel lands as the wait
ends: a loop waiting that way never stopped, and a shutdown (and a test's teardown, in CI)
hung for good. Waking a loop and cancelling it in the same step is that moment, for certain.
"""

from __future__ import annotations

import asyncio

from .conftest import Harness, until


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
