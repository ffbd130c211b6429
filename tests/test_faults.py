"""Faults: the database away for 10 seconds, the Bot API for 30, while people use the bot.

Nobody who was told "you are signed up" may be missing afterwards, everybody gets an answer,
and the bot recovers by itself, without a restart.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot import texts
from bot.handlers.flood import FloodGuard
from bot.storage import Storage, SubscriptionRecord

from .conftest import ADMIN, POSTGRES_URL, Harness, drop_tables, serving, until
from .fake_telegram import FakeTelegram
from .tcp_proxy import TcpProxy
from .test_cli import RunningBot

OUTAGE = 10.0  # seconds the database is away
API_OUTAGE = 30.0  # seconds Telegram is away
SIGNED_UP = texts.SUBSCRIBED.split("<b>")[0]


class SignUps:
    """People sending /subscribe, each once, and what the bot told each of them."""

    def __init__(self, bot: Harness, first: int) -> None:
        self.bot = bot
        self.users = iter(range(first, first + 100_000))
        self.answers: dict[int, str] = {}

    async def one(self, user: int | None = None) -> str:
        user = next(self.users) if user is None else user
        await self.bot.command("/subscribe", user=user)
        replies = self.bot.texts(user)
        self.answers[user] = replies[-1] if replies else ""
        return self.answers[user]

    def told(self, prefix: str) -> list[int]:
        return [user for user, answer in self.answers.items() if answer.startswith(prefix)]

    async def while_true(self, condition: Callable[[], bool], every: float = 0.2) -> None:
        """Sign people up, several at a time, until the condition ends."""
        tasks = []
        while condition():
            tasks.append(asyncio.create_task(self.one()))
            await asyncio.sleep(every)
        await asyncio.gather(*tasks)


async def _check_nothing_confirmed_was_lost(bot: Harness, people: SignUps) -> None:
    unanswered = [u for u, a in people.answers.items() if not a]
    assert unanswered == [], "everybody gets an answer"
    odd = [a for a in people.answers.values() if not a.startswith((SIGNED_UP, texts.STORAGE_DOWN))]
    assert odd == []
    for user in people.told(SIGNED_UP):
        assert await bot.storage.is_subscribed(user, "rafah"), f"{user} was told yes, is missing"
    for user in people.told(texts.STORAGE_DOWN):  # they try again, and now it works
        assert (await people.one(user)).startswith(SIGNED_UP)
        assert await bot.storage.is_subscribed(user, "rafah")


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")
async def test_postgresql_away_for_10_seconds(tmp_path: Path) -> None:
    server = make_url(POSTGRES_URL)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    url = server.set(port=proxy.port).render_as_string(hide_password=False)
    storage = Storage.connect(url)
    await drop_tables(storage)
    await storage.create_schema()
    try:
        async with serving(storage, flood_guard=FloodGuard(burst=10**6)) as bot:
            people = SignUps(bot, 20_000)
            for _ in range(5):
                assert (await people.one()).startswith(SIGNED_UP)

            await proxy.cut()
            cut_at = time.monotonic()
            await people.while_true(lambda: time.monotonic() - cut_at < OUTAGE)
            refused = len(people.told(texts.STORAGE_DOWN))
            await proxy.start()
            restored_at = time.monotonic()
            # Recovers by itself: the next sign-ups work, with the same running bot.
            while not (await people.one()).startswith(SIGNED_UP):
                assert time.monotonic() - restored_at < 15, "no recovery"
                await asyncio.sleep(0.2)
            recovered = time.monotonic() - restored_at
            await _check_nothing_confirmed_was_lost(bot, people)
    finally:
        await storage.close()
        await proxy.close()
    print(
        f"PostgreSQL away {OUTAGE:.0f} s: {len(people.answers)} sign-ups tried, {refused} told "
        f"to try again, every confirmed one stored; recovered {recovered:.1f} s after"
    )
    assert refused > 0  # the outage was real


async def test_sqlite_file_locked_for_10_seconds(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    storage = await Storage.open(f"sqlite:///{path}")
    hold = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        f"time.sleep({OUTAGE})\n"
        "c.execute('COMMIT')\n"
    )
    try:
        async with serving(storage, flood_guard=FloodGuard(burst=10**6)) as bot:
            people = SignUps(bot, 40_000)
            assert (await people.one()).startswith(SIGNED_UP)
            holder = await asyncio.create_subprocess_exec(
                sys.executable, "-c", hold, str(path), stdout=subprocess.PIPE
            )
            assert holder.stdout is not None
            assert (await holder.stdout.readline()).strip() == b"locked"
            locked_at = time.monotonic()
            await people.while_true(lambda: holder.returncode is None)
            await holder.wait()
            waited = time.monotonic() - locked_at
            assert (await people.one()).startswith(SIGNED_UP)
            await _check_nothing_confirmed_was_lost(bot, people)
    finally:
        await storage.close()
    answers = collections.Counter(a.startswith(SIGNED_UP) for a in people.answers.values())
    print(
        f"SQLite locked by another process {OUTAGE:.0f} s ({waited:.1f} s): "
        f"{len(people.answers)} sign-ups, {answers[True]} confirmed (some after waiting for the "
        "lock), every confirmed one stored"
    )


async def test_telegram_away_for_30_seconds(tmp_path: Path) -> None:
    """Polling and a broadcast going out both resume by themselves; nobody is missed."""
    async with FakeTelegram() as telegram:
        bot = RunningBot(telegram, tmp_path)
        storage = await Storage.open(bot.env["DATABASE_URL"])
        now = dt.datetime.now(dt.UTC)
        people = list(range(50_000, 50_300))
        await storage.add_subscriptions(
            SubscriptionRecord(p, "rafah", "private", None, "active", None, now, now)
            for p in people
        )
        api = telegram.api
        await bot.start()
        try:
            from bot.preview.updates import callback_update, message_update

            api.push_update(message_update("/broadcast Outage test", user_id=ADMIN))
            await until(lambda: "Send it?" in "".join(api.texts_to(ADMIN)), "the preview")
            confirm_id = api.sent_to(ADMIN)[-1]["message_id"]
            api.push_update(callback_update("bc:send:1", user_id=ADMIN, message_id=confirm_id))

            def delivered() -> collections.Counter[int]:
                return collections.Counter(
                    int(c.params["chat_id"])
                    for c in api.calls_to("sendMessage")
                    if c.params.get("text") == "Outage test"
                    and c.error is None
                    and c.params.get("chat_id") != ADMIN  # the organizer's preview
                )

            await until(lambda: len(delivered()) >= 60, "part of the broadcast is out", 60)
            await telegram.stop()
            await asyncio.sleep(API_OUTAGE)
            await telegram.start()
            back = time.monotonic()

            api.push_update(message_update("/start", user_id=77_000))
            await until(lambda: bool(api.texts_to(77_000)), "polling resumes", 60)
            polling_back = time.monotonic() - back
            await until(
                lambda: "finished" in api.messages.get((ADMIN, confirm_id), {}).get("text", ""),
                "the broadcast finishes",
                120,
            )
            report = api.messages[(ADMIN, confirm_id)]["text"]
            counts = delivered()
        finally:
            await bot.stop()
            await storage.close()
    assert set(counts) == set(people), "somebody was missed"
    assert "failed 0" in report
    repeats = sum(n - 1 for n in counts.values())
    print(
        f"Telegram away {API_OUTAGE:.0f} s mid-broadcast: polling back {polling_back:.1f} s "
        f"after it returned; broadcast finished, 0 missed, {repeats} repeats"
    )
