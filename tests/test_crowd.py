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
from typing import Any

import pytest
from sqlalchemy import text

from bench.telegram_limits import LimitedTelegram
from bot.preview.updates import callback_update, message_update
from bot.storage import Storage

from .conftest import ADMIN, POSTGRES_URL, open_storage, until
from .test_cli import RunningBot
from .test_webhook import WebhookBot, _seed, _send_button

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


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")
async def test_two_processes_keep_the_limits_together(
    limited: LimitedTelegram, tmp_path: Path
) -> None:
    """Two webhook processes answer a crowd while one broadcasts: 0 refused, each message once."""
    storage = await open_storage("postgres", tmp_path)
    recipients = await _seed(storage, 60)
    limited.watch(ADMIN)  # the status message is edited: the fake keeps it
    bots = [WebhookBot(limited, POSTGRES_URL, tmp_path / f"bot{n}.log") for n in (1, 2)]
    crowd = range(FIRST, FIRST + 60)
    try:
        for bot in bots:
            await bot.start()
        body = "Two processes, one limit"
        assert await bots[0].post(message_update(f"/broadcast rafah {body}", user_id=ADMIN)) == 200
        await until(lambda: _send_button(limited) is not None, "the preview")
        found = _send_button(limited)
        assert found is not None
        data, message_id = found
        await bots[1].post(callback_update(data, user_id=ADMIN, message_id=message_id))
        for person in crowd:
            limited.watch(person)
            await bots[person % 2].post(message_update("/subscribe", user_id=person))

        def delivered() -> collections.Counter[int]:
            return collections.Counter(chat for _, chat in limited.by_text[body])

        def answers(person: int) -> list[dict[str, Any]]:
            """Return what the person got but the broadcast."""
            return [m for _, m in limited.by_chat[person] if m.get("text") != body]

        await until(lambda: all(answers(p) for p in crowd), "the crowd is answered", 60)
        # Those of the crowd who signed up before Send was handled get it too.
        await until(lambda: recipients <= set(delivered()), "the broadcast is delivered", 60)
    finally:
        for bot in bots:
            if bot.process is not None:
                await bot.stop()
        await storage.close()
    assert limited.total_too_many() == 0
    assert set(delivered().values()) == {1}
    # Each of the crowd: one answer to /subscribe, and the broadcast (once) if it came first.
    assert all(len(answers(p)) == 1 for p in crowd), {p: answers(p) for p in crowd}
