"""Correction bench: the edit or retraction worker against the fake Bot API with Telegram's limits.

    python bench/corrections.py --copies 10000 --kind edit
    python bench/corrections.py --copies 3000 --kind delete --database postgresql://...

A database is seeded with a photo broadcast already delivered to N private chats (the fake
holds each copy), a confirmed edit of its caption (or a retraction) is stored, and the worker
(bot/delivery/corrections.py `Corrector`, with the bot's own paced transport over aiohttp) runs
it to the end. Printed: copies corrected per second against the 30 a second ceiling, 429s,
copies corrected twice, copies missed. Exit status 1 on any 429, repeat or miss.

The worker in-process, not `python -m bot run`: bench/broadcast.py measures the whole bot; this
measures what the worker adds (its batching, its database writes, its pacing).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from telegram import Bot

from bench.telegram_limits import FREE_RATE, LimitedTelegram
from bot.delivery.corrections import Corrector
from bot.delivery.http import AiohttpRequest
from bot.delivery.pacing import PacedRequest, Pacer
from bot.storage import Storage, SubscriptionRecord, metadata
from tests.fake_telegram import TOKEN

ADMIN, FIRST = 42, 1_000_000_000
PHOTO = {"type": "photo", "file_id": "AgADbench", "caption": "Old caption", "spoiler": False}


async def _storage(url: str | None) -> Storage:
    """Return an empty database: a SQLite file, or the PostgreSQL one given (emptied)."""
    if url is None:
        return await Storage.open(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    storage = Storage.connect(url)
    async with storage.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await storage.create_schema()
    return storage


async def _delivered(storage: Storage, copies: int) -> int:
    """Store a photo broadcast delivered to `copies` chats (message 1 in each); return its id."""
    now = dt.datetime.now(dt.UTC)
    await storage.add_subscriptions(
        SubscriptionRecord(chat, "rafah", "private", None, "active", None, now, now)
        for chat in range(FIRST, FIRST + copies)
    )
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", [PHOTO], ADMIN)
    await storage.start_broadcast(broadcast_id, ADMIN, 1)
    async with storage.engine.begin() as connection:
        await connection.execute(
            text("UPDATE deliveries SET status = 'sent', message_ids = '[1]'")
        )
        await connection.execute(text("UPDATE broadcasts SET state = 'done'"))
    return broadcast_id


async def run(copies: int, kind: str, url: str | None) -> int:
    """Run one correction of `copies` copies; print what was measured; return the exit status."""
    storage = await _storage(url)
    broadcast_id = await _delivered(storage, copies)
    async with LimitedTelegram() as fake:
        now = int(time.time())
        for chat in range(FIRST, FIRST + copies):
            fake.api.messages[(chat, 1)] = {"message_id": 1, "date": now, "caption": "Old caption"}
        fake.api.messages[(ADMIN, 1)] = {"message_id": 1, "date": now, "text": "status"}
        corrected = {"parts": [{**PHOTO, "caption": "New caption"}], "translations": {}}
        correction_id = await storage.create_correction(
            broadcast_id,
            kind,
            ADMIN,
            previous={"parts": [PHOTO], "translations": {}} if kind == "edit" else None,
            corrected=corrected if kind == "edit" else None,
        )
        assert await storage.start_correction(correction_id, ADMIN, 1) == "started"
        pacer = Pacer()
        request = PacedRequest(AiohttpRequest(256), pacer)
        async with Bot(TOKEN, base_url=fake.base_url, request=request) as bot:
            started = time.monotonic()
            await Corrector(bot, storage, pacer=pacer).apply(correction_id)
            took = time.monotonic() - started
        changed = fake.edits if kind == "edit" else fake.deletions
        done = {key: count for key, count in changed.items() if key[0] != ADMIN}
        repeats = sum(count - 1 for count in done.values())
        missed = copies - len(done)
        rate = len(done) / took
        print(
            f"{kind}: {len(done)} copies in {took:.1f} s: {rate:.2f}/s, "
            f"{rate / FREE_RATE:.3f} of the ceiling; 429s {fake.total_too_many()}, "
            f"repeats {repeats}, missed {missed}"
        )
        print(str(fake.api.messages[(ADMIN, 1)].get("text", "")).replace("\n", " / "))
        bad = fake.total_too_many() or repeats or missed
    await storage.close()
    return 1 if bad else 0


def main() -> int:
    """Parse the arguments and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--kind", choices=("edit", "delete"), default="edit")
    parser.add_argument("--database", help="a PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    return asyncio.run(run(args.copies, args.kind, args.database))


if __name__ == "__main__":
    sys.exit(main())
