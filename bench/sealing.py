"""Sealed ids (issue 14): how long migration 0011 and `rotate-key` take on a full database.

    python bench/sealing.py [--subscribers 100000] [--database postgresql://...]

A database at schema 0010 is filled with N subscriptions, N preferences, N pledges and one
broadcast's N deliveries (plain integer ids, as before 0011), then timed: the migration to
0011 (every id turned into bytes), `rotate-key` from no key to a key, from that key to
another, and back to none (each with its compaction), and each step checked to keep every row.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/sealing.py`

from sqlalchemy import text  # noqa: E402

from bench.common import _postgres_database  # noqa: E402
from bot.storage import Storage  # noqa: E402
from bot.storage.rotation import rotate_key  # noqa: E402
from tests.conftest import drop_tables  # noqa: E402

FIRST = 5_000_000_000
NOW = dt.datetime(2026, 5, 1, 12)  # naive UTC, as the bot stores times


async def seed_0010(storage: Storage, size: int) -> None:
    """Fill a schema-0010 database with `size` people in every table that holds ids."""
    ids = range(FIRST, FIRST + size)
    async with storage.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO subscriptions (chat_id, campaign_id, chat_type, status, "
                "subscribed_at, updated_at) VALUES (:id, 'rafah', 'private', 'active', :t, :t)"
            ),
            [{"id": i, "t": NOW} for i in ids],
        )
        await connection.execute(
            text("INSERT INTO preferences VALUES (:id, 'ar', :t)"),
            [{"id": i, "t": NOW} for i in ids],
        )
        await connection.execute(
            text("INSERT INTO pledges VALUES (:id, 'rafah', 'a1', :t, NULL)"),
            [{"id": i, "t": NOW} for i in ids],
        )
        await connection.execute(
            text(
                "INSERT INTO broadcasts (id, campaign_id, kind, parts, created_by, created_at, "
                "state, status_chat_id, uncertain) VALUES (1, 'rafah', 'text', '[\"Hi\"]', 42, "
                "'2026-05-01 12:00:00', 'done', 42, 0)"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO deliveries (broadcast_id, chat_id, status, attempts, updated_at) "
                "VALUES (1, :id, 'sent', 1, :t)"
            ),
            [{"id": i, "t": NOW} for i in ids],
        )


async def timed(what: str, step: Awaitable[object]) -> None:
    """Await `step` and print how long it took."""
    started = time.monotonic()
    await step
    print(f"{what}: {time.monotonic() - started:.1f} s", flush=True)


async def check(storage: Storage, size: int) -> None:
    """Fail unless every row is there and reads back."""
    assert await storage.count_subscriptions("rafah") == size
    assert len(await storage.chosen_languages()) == size
    assert await storage.is_subscribed(FIRST + size - 1, "rafah")


async def bench(size: int, database: str | None, workdir: Path) -> None:
    """Seed, migrate and rotate, timing each step and checking every row after it."""
    url = f"sqlite:///{workdir / 'sealing.db'}" if database is None else database
    if database is not None:
        url = await _postgres_database(database)
        storage = Storage.connect(url)
        await drop_tables(storage)
        await storage.close()
    keys = [None, bytes(range(64)), bytes(range(1, 65)), None]
    storage = Storage.connect(url)
    await storage.migrate("0010")
    await seed_0010(storage, size)
    print(f"{size} people, 0010, {'SQLite' if database is None else 'PostgreSQL'}", flush=True)
    await timed("migrate 0010 -> 0011", storage.migrate("0011"))
    await storage.migrate()  # the later revisions touch no id: not timed
    await storage.close()
    for old, new in itertools.pairwise(keys):
        storage = await Storage.open(url, key=old)
        await check(storage, size)
        names = ("none" if k is None else "a key" for k in (old, new))
        await timed("rotate-key {} -> {}".format(*names), rotate_key(storage, new))
        await storage.close()
    storage = await Storage.open(url)
    await check(storage, size)
    await storage.close()
    print("every row kept at every step")


def main() -> int:
    """Parse the command line and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database", metavar="URL", help="postgresql://...; default: SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sealing-") as tmp:
        asyncio.run(bench(args.subscribers, args.database, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
