"""Crowds and quick readers against a fake Bot API that enforces Telegram's limits.

`python -m bot run` for real, over HTTP, against bench/telegram_limits.py's fake: 30 sends a
second overall, about one a second per private chat (a burst of 3), 20 a minute per group,
429 with retry_after past any of them. Every answer must arrive, and none be refused.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.telegram_limits import LimitedTelegram
from bot.local_api import message_update
from bot.storage import Storage

from .conftest import POSTGRES_URL, until
from .test_cli import RunningBot

CROWD = 120
FIRST = 5_000_000


@pytest.fixture
async def limited() -> AsyncIterator[LimitedTelegram]:
    """The fake Bot API with Telegram's limits, on loopback."""
    async with LimitedTelegram() as fake:
        yield fake


def answers(fake: LimitedTelegram, chat: int) -> list[str]:
    """Return the texts a chat received, in the order they arrived."""
    return [m.get("text", "") for _, m in fake.by_chat[chat]]


async def test_a_crowd_subscribing_at_once_gets_every_answer(
    limited: LimitedTelegram, tmp_path: Path
) -> None:
    """120 people send /start and /subscribe at once: all 240 answers arrive, none refused."""
    bot = RunningBot(limited, tmp_path)
    await bot.start()
    people = range(FIRST, FIRST + CROWD)
    for person in people:
        limited.watch(person)
    for person in people:
        limited.api.push_update(message_update("/start", user_id=person))
        limited.api.push_update(message_update("/subscribe", user_id=person))
    await until(
        lambda: all(len(limited.by_chat[p]) == 2 for p in people), "everyone is answered", 90
    )
    assert limited.total_too_many() == 0
    assert all("You will get updates" in answers(limited, p)[1] for p in people)
    assert await bot.stop() == 0
    storage = Storage.connect(bot.env["DATABASE_URL"])
    async with storage.engine.connect() as connection:
        count = await connection.scalar(text("SELECT count(*) FROM subscriptions"))
    await storage.close()
    assert count == CROWD


async def test_a_quick_reader_gets_every_part_in_order(
    limited: LimitedTelegram, tmp_path: Path
) -> None:
    """One person sends six commands at once: every part of every answer arrives, in order."""
    bot = RunningBot(limited, tmp_path)
    await bot.start()
    reader = FIRST
    limited.watch(reader)
    commands = ["/statement", "/slogans", "/actions", "/statement", "/help", "/statements"]
    for command in commands:
        limited.api.push_update(message_update(command, user_id=reader))
    # What the same commands make the bot say, one at a time, to someone who takes it slowly.
    calm = FIRST + 1
    limited.watch(calm)
    expected: list[str] = []
    for command in commands:
        limited.api.push_update(message_update(command, user_id=calm))
        said = len(expected)
        await until(lambda said=said: len(limited.by_chat[calm]) > said, f"{command} answered")
        await asyncio.sleep(1.5)  # all parts of this answer, at one a second
        expected = answers(limited, calm)
    got = answers(limited, reader)
    assert got == expected
    assert len(got) > len(commands)  # some answers have several parts
    assert limited.total_too_many() == 0
    arrivals = [at for at, _ in limited.by_chat[reader]]
    per_second = collections.Counter(int(at - arrivals[0]) for at in arrivals)
    assert max(per_second.values()) <= 3  # Telegram's per-chat burst, never more
    assert await bot.stop() == 0


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")
async def test_a_crowd_on_postgresql_gets_every_answer(
    limited: LimitedTelegram, tmp_path: Path, storage: Storage
) -> None:
    """The same crowd with the bot on PostgreSQL: every answer arrives, none refused."""
    bot = RunningBot(limited, tmp_path)
    bot.env["DATABASE_URL"] = POSTGRES_URL
    await bot.start()
    people = range(FIRST, FIRST + CROWD // 2)
    for person in people:
        limited.watch(person)
        limited.api.push_update(message_update("/subscribe", user_id=person))
    await until(lambda: all(len(limited.by_chat[p]) == 1 for p in people), "answered", 90)
    assert limited.total_too_many() == 0
    assert await bot.stop() == 0
