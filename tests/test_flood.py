"""A flood: one person sends 100 commands in 10 seconds while another reads the statement.

Updates go through the application's update queue, as polling or the webhook put them there,
so the flood competes with the other person exactly as it would in production.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from telegram import Update

from bot import texts
from bot.handlers.flood import FloodGuard
from bot.preview.updates import message_update

from .conftest import Harness, until

FLOODER, READERS = 6001, 7000


async def _ask(bot: Harness, chat: int, text: str) -> float:
    """Queue `text` from `chat`; return the seconds until the bot's first reply to it."""
    before = len(bot.api.sent_to(chat))
    asked = time.monotonic()
    update = Update.de_json(
        {"update_id": int(asked * 1e6), **message_update(text, user_id=chat)}, bot.application.bot
    )
    await bot.application.update_queue.put(update)
    await until(lambda: len(bot.api.sent_to(chat)) > before, f"a reply to {text}")
    first = min(
        call.at
        for call in bot.api.calls_to("sendMessage")
        if call.params.get("chat_id") == chat and call.at >= asked
    )
    return first - asked


async def _reader_latencies(bot: Harness, first: int, count: int, every: float) -> list[float]:
    """Time /statement for `count` other people, one after another."""
    latencies = []
    for reader in range(first, first + count):
        latencies.append(await _ask(bot, reader, "/statement"))
        await asyncio.sleep(every)
    return latencies


async def test_a_flood_gets_bounded_replies_and_slows_nobody_else(bot: Harness) -> None:
    idle = await _reader_latencies(bot, READERS, 10, 0.05)

    async def flood() -> None:
        for number in range(100):  # 100 commands over 10 seconds
            update = Update.de_json(
                {"update_id": 10_000 + number, **message_update("/statement", user_id=FLOODER)},
                bot.application.bot,
            )
            await bot.application.update_queue.put(update)
            await asyncio.sleep(0.1)

    flooding = asyncio.create_task(flood())
    await asyncio.sleep(0.5)  # into the flood
    busy = await _reader_latencies(bot, READERS + 10, 10, 0.4)
    await flooding
    await asyncio.sleep(0.3)

    replies = bot.texts(FLOODER)
    warnings = replies.count(texts.SLOW_DOWN)
    answered = replies.count(bot.texts(READERS)[0])  # a statement is several messages
    # A burst of 8, then one a second for 10 seconds; one warning, then silence.
    assert warnings == 1
    assert answered <= 8 + 11
    for reader in range(READERS, READERS + 20):
        assert texts.SLOW_DOWN not in bot.texts(reader)
    idle_ms, busy_ms = statistics.median(idle) * 1000, statistics.median(busy) * 1000
    print(
        f"flood of 100 commands in 10 s: {answered} answered, {warnings} warning; the other "
        f"person's /statement: idle {idle_ms:.1f} ms, during the flood {busy_ms:.1f} ms"
    )
    assert busy_ms <= 2 * idle_ms + 5  # nobody else waits on the flood


def test_the_guard_forgets_people_at_rest_so_a_crowd_costs_no_memory() -> None:
    """100,000 people, one command each, a hundred a second: the guard keeps only those of the
    last few seconds, and someone flooding meanwhile is still held back."""
    guard = FloodGuard(burst=8, per_second=1.0)
    kept = []
    for person in range(100_000):
        now = person / 100
        assert guard.allow(1_000_000 + person, now) == (True, False)
        kept.append(len(guard._buckets))
    assert max(kept) <= 2_000  # 8 s of a hundred a second, kept at most twice over
    now = 1_000.0
    allowed = [guard.allow(42, now)[0] for _ in range(12)]
    assert allowed == [True] * 8 + [False] * 4
