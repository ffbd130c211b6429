"""Many at once: senders that never claim the same recipient, sign-ups that all land."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from bot import texts
from bot.handlers.flood import FloodGuard
from bot.storage import Storage, SubscriptionRecord

from .conftest import POSTGRES_URL, serving

SIGNED_UP = texts.SUBSCRIBED.split("<b>")[0]


async def _second(storage: Storage, tmp_path: Path) -> Storage:
    """Another connection pool on the same database, as another process would have."""
    if storage.dialect == "sqlite":
        return Storage.connect(f"sqlite:///{tmp_path / 'test.db'}")
    return Storage.connect(POSTGRES_URL)


async def test_claimers_at_once_never_take_the_same_recipient(
    storage: Storage, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    await storage.add_subscriptions(
        SubscriptionRecord(chat_id, "rafah", "private", None, "active", None, now, now)
        for chat_id in range(1, 1201)
    )
    broadcast_id = await storage.create_broadcast("rafah", "text", ["Hello"], 42)
    assert await storage.start_broadcast(broadcast_id, 42, 1) == 1200
    other = await _second(storage, tmp_path)
    claimed: list[list[int]] = [[], [], [], []]

    async def claimer(index: int, claiming: Storage) -> None:
        while jobs := await claiming.claim_jobs(25):
            claimed[index].extend(job.chat_id for job in jobs)

    try:
        await asyncio.gather(*(claimer(n, (storage, other)[n % 2]) for n in range(4)))
    finally:
        await other.close()
    every = [chat_id for part in claimed for chat_id in part]
    assert sorted(every) == list(range(1, 1201))  # each one once, nobody left
    if storage.dialect == "postgresql":  # row locks, skipped: nobody waits for anybody
        assert all(part for part in claimed)
    # (On SQLite one writer at a time, and a claimer can lose every race for the write lock.)


async def test_500_simultaneous_sign_ups_are_all_recorded(storage: Storage) -> None:
    """500 people send /subscribe at the same moment, through the real application."""
    people = range(30_000, 30_500)
    async with serving(storage, flood_guard=FloodGuard(burst=10**6)) as bot:
        started = time.monotonic()
        await asyncio.gather(*(bot.command("/subscribe", user=person) for person in people))
        seconds = time.monotonic() - started
        replies = [bot.texts(person) for person in people]
    assert all(len(reply) == 1 and reply[0].startswith(SIGNED_UP) for reply in replies)
    assert await storage.count_recipients("rafah") == 500
    print(f"500 simultaneous sign-ups on {storage.dialect}: 500 rows, 0 errors, {seconds:.2f} s")
