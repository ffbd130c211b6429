"""Moving a campaign's database: SQLite to PostgreSQL and back, losing nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage import Outcome, Result, Storage, metadata
from bot.storage.copydb import CopyError, copy_database
from bot.storage.leader import sender_lock

from .conftest import POSTGRES_URL, open_storage
from .test_cli import bot_command


async def _fill(storage: Storage) -> int:
    """Subscriptions of every status, a sent broadcast, one half-sent, a scheduled one, audit."""
    for chat_id in range(1, 21):
        await storage.subscribe(chat_id, "rafah", chat_type="private", source="flyer")
    await storage.subscribe(-100123, "rafah", chat_type="supergroup", language_code=None)
    await storage.unsubscribe(3, "rafah")
    await storage.mark_blocked(4)
    first = await storage.create_broadcast("rafah", "text", ["<b>One</b>", "two"], 42)
    await storage.start_broadcast(first, 42, 7)
    jobs = await storage.claim_jobs(100)
    sending = await storage.mark_sending([job.delivery_id for job in jobs[:10]])
    await storage.record_results(Result(d, Outcome.SENT) for d in sending)
    later = dt.datetime(2027, 1, 1, 18, tzinfo=dt.UTC)
    scheduled = await storage.create_broadcast("rafah", "statement", ["Later"], 42, send_at=later)
    await storage.start_broadcast(scheduled, 42, 8)
    await storage.audit(42, "broadcast", f"#{first} to rafah")
    return first


async def _dump(storage: Storage) -> dict[str, list[tuple[object, ...]]]:
    async with storage.engine.connect() as connection:
        return {
            table.name: sorted(
                tuple(row)
                for row in await connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                )
            )
            for table in metadata.sorted_tables
        }


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")
async def test_sqlite_to_postgresql_and_back_keeps_every_row(tmp_path: Path) -> None:
    original = await open_storage("sqlite", tmp_path)
    postgres = await open_storage("postgres", tmp_path)
    # open_storage created the tables; the copy wants an empty database and checks it.
    back = Storage.connect(f"sqlite:///{tmp_path / 'back.db'}")
    try:
        await _fill(original)
        before = await _dump(original)

        copied = await copy_database(original, postgres)
        # Every table but the key check, which each database writes for its own key.
        assert copied == {name: len(rows) for name, rows in before.items() if name != "key_check"}
        assert copied["deliveries"] == 19  # the half-sent broadcast's outbox came along
        assert await _dump(postgres) == before

        await copy_database(postgres, back)
        assert await _dump(back) == before

        # The copy carries on where the original was: new ids follow the copied ones, and the
        # half-sent broadcast sends only what was not sent.
        newer = await postgres.create_broadcast("rafah", "text", ["Three"], 42)
        assert newer > max(row[0] for row in before["broadcasts"])
        await postgres.requeue_in_flight()
        assert len(await postgres.claim_jobs(100)) == 9
    finally:
        for storage in (original, postgres, back):
            await storage.close()


async def test_copy_refuses_a_target_holding_data(storage: Storage, tmp_path: Path) -> None:
    await _fill(storage)
    target = await open_storage("sqlite", tmp_path / "target")
    await target.subscribe(99, "other", chat_type="private")
    try:
        with pytest.raises(CopyError, match=r"already holds subscriptions"):
            await copy_database(storage, target)
        assert [s.chat_id async for s in target.subscriptions()] == [99]
    finally:
        await target.close()


async def test_copy_refuses_while_a_bot_sends_from_the_source(
    storage: Storage, tmp_path: Path
) -> None:
    await _fill(storage)
    # A bot's process, with its own connections to the same database, is sending.
    running_bot = Storage.connect(
        f"sqlite:///{tmp_path / 'test.db'}" if storage.dialect == "sqlite" else POSTGRES_URL
    )
    lock = sender_lock(running_bot.engine)
    await lock.acquire()
    target = Storage.connect(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        with pytest.raises(CopyError, match=r"a bot is running on the source database"):
            await copy_database(storage, target)
    finally:
        await lock.release()
        await running_bot.close()
        await target.close()


def test_copy_db_from_the_command_line(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'from.db'}"
    bot = bot_command

    missing = bot("copy-db", source, f"sqlite:///{tmp_path / 'to.db'}")
    assert missing.returncode == 1
    assert "no database at" in missing.stderr

    import asyncio

    async def make() -> None:
        storage = await Storage.open(source)
        await _fill(storage)
        await storage.close()

    asyncio.run(make())
    done = bot("copy-db", source, f"sqlite:///{tmp_path / 'to.db'}")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == "copied 0 approval_asks, 1 audit_log, 2 broadcasts, 0 content_versions, "
        "0 feed_items, 0 feed_states, 0 inbox, 0 paid_answers, 0 pledges, 0 preferences, "
        "21 subscriptions, 0 uploads, 0 corrections, 19 deliveries\n"
    )
    again = bot("copy-db", source, f"sqlite:///{tmp_path / 'to.db'}")
    assert again.returncode == 1
    assert "copy only into an empty database; nothing was copied" in again.stderr
    wrong = bot("copy-db", source, "mysql://x")
    assert "copy-db: TO: unsupported database 'mysql'" in wrong.stderr
