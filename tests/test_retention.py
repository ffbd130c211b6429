"""Short memory: expired rows are deleted, and nothing else; deleted rows leave no trace in
the SQLite file or a backup."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.campaign.content import load_campaigns
from bot.config import ConfigError, load_config
from bot.server.forgetter import Forgetter
from bot.storage import Outcome, Periods, Result, Storage

from .conftest import ADMIN, ANA, BEN, GROUP, ROOT, serving
from .test_pledges import ZONE, with_march

DAY = dt.timedelta(days=1)


def later(storage: Storage, delta: dt.timedelta) -> None:
    now = storage.clock()
    storage.clock = lambda: now + delta


async def finish(storage: Storage, outcomes: dict[int, Outcome]) -> int:
    """Subscribe the chats, send them a broadcast and settle it with these outcomes."""
    for chat in outcomes:
        await storage.subscribe(chat, "rafah", chat_type="private" if chat > 0 else "group")
    broadcast_id = await storage.create_broadcast("rafah", "broadcast", ["news"], ADMIN)
    assert await storage.start_broadcast(broadcast_id, ADMIN, 1) == len(outcomes)
    jobs = await storage.claim_jobs(100)
    await storage.mark_sending([job.delivery_id for job in jobs])
    await storage.record_results(
        Result(job.delivery_id, outcomes[job.chat_id], None, (7,)) for job in jobs
    )
    assert await storage.finish_broadcasts() == [broadcast_id]
    return broadcast_id


async def table_counts(storage: Storage) -> dict[str, int]:
    async with storage.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        return {
            table: (await connection.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one()
            for table in tables
        }


async def test_deliveries_go_after_the_period_and_the_counts_stay(storage: Storage) -> None:
    sent, blocked = Outcome.SENT, Outcome.BLOCKED
    old = await finish(storage, {ANA: sent, BEN: sent, GROUP: blocked})
    before = await storage.progress(old)
    later(storage, 31 * DAY)
    recent = await finish(storage, {ANA: sent, BEN: sent, GROUP: sent})
    running = await storage.create_broadcast("rafah", "broadcast", ["later"], ADMIN)
    assert await storage.start_broadcast(running, ADMIN, 2) == 3
    forgotten = await storage.forget_expired(Periods(), over=(), known=())
    assert forgotten.deliveries == 3
    counts = await table_counts(storage)
    assert counts["deliveries"] == 6  # the recent broadcast's and the running one's
    after = await storage.progress(old)
    assert before is not None
    assert after is not None
    assert (after.total, after.sent, after.blocked) == (before.total, before.sent, before.blocked)
    assert after.purged_at is not None
    assert [p.broadcast_id for p in await storage.recent_broadcasts()] == [running, recent, old]
    again = await storage.forget_expired(Periods(), over=(), known=())
    assert not again  # nothing twice; the kept counts are not counted again
    last = await storage.progress(old)
    assert last is not None
    assert last.sent == 2


async def test_ended_subscriptions_audit_and_pledges_expire_and_nothing_else(
    storage: Storage,
) -> None:
    for chat in (ANA, BEN, 2001, 2002):
        await storage.subscribe(chat, "rafah", chat_type="private")
    await storage.unsubscribe(BEN, "rafah")
    await storage.mark_blocked(2001)
    await storage.set_language(BEN, "es")
    await storage.set_language(ANA, "ar")
    await storage.audit(ADMIN, "stats")
    for chat in (ANA, 2002):
        await storage.pledge(chat, "rafah", "past")
        await storage.pledge(chat, "rafah", "gone")
        await storage.pledge(chat, "rafah", "coming")
    later(storage, 29 * DAY)
    await storage.unsubscribe(2002, "rafah")  # ended recently: kept for now
    periods = Periods()
    forgotten = await storage.forget_expired(
        periods, over=[("rafah", "past")], known=[("rafah", "past"), ("rafah", "coming")]
    )
    assert (forgotten.subscriptions, forgotten.pledges, forgotten.audit_entries) == (0, 2, 0)
    later(storage, 2 * DAY)
    forgotten = await storage.forget_expired(periods, over=[], known=[("rafah", "coming")])
    assert forgotten.subscriptions == 2  # Ben (unsubscribed) and 2001 (blocked the bot)
    assert forgotten.preferences == 1  # Ben's language: he has no subscription left
    assert forgotten.pledges == 2  # of the action gone from the campaign, a month on
    assert sorted([s.chat_id async for s in storage.subscriptions()]) == [ANA, 2002]
    assert await storage.chosen_languages() == {ANA: "ar"}
    counts = await table_counts(storage)
    assert counts["pledges"] == 2  # "coming", of Ana and 2002
    assert counts["audit_log"] == 1
    later(storage, 400 * DAY)
    assert (await storage.forget_expired(periods, over=[], known=[])).audit_entries == 1


async def test_the_forgetter_drops_the_pledges_of_actions_that_are_over(
    storage: Storage, tmp_path: Path
) -> None:
    content = load_campaigns(with_march(tmp_path))
    campaign = content.default
    march = campaign.actions[0]
    assert march.date is not None
    key = campaign.action_key(march)
    await storage.subscribe(ANA, campaign.id, chat_type="private")
    await storage.pledge(ANA, campaign.id, key)
    start = dt.datetime.combine(march.date, dt.time(14), tzinfo=ZONE)
    forgetter = Forgetter(storage, lambda: content, Periods(), zone=ZONE)
    storage.clock = lambda: start
    assert (await forgetter.run_once()).pledges == 0
    storage.clock = lambda: start + 2 * DAY
    assert (await forgetter.run_once()).pledges == 1


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_forgotten_subscriber_leaves_no_bytes_in_the_file_or_a_backup(
    tmp_path: Path,
) -> None:
    """With secure_delete, a deleted row is overwritten; VACUUM INTO copies no free pages."""
    person = 987_654_321_987
    marker = person.to_bytes(6, "big")  # how SQLite stores an integer of this size
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    storage = await Storage.open(url)
    await storage.subscribe(person, "rafah", chat_type="private", source="flyer")
    await storage.set_language(person, "es")
    async with storage.engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA secure_delete")).scalar_one() == 1
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert marker in (tmp_path / "bot.db").read_bytes()  # the check can find it
    await storage.forget(person)
    async with storage.engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await storage.close()
    assert marker not in (tmp_path / "bot.db").read_bytes()
    done = run_cli("backup", str(tmp_path / "copy.db"), env={"DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backed up to {tmp_path / 'copy.db'} (")
    copy = (tmp_path / "copy.db").read_bytes()
    assert copy.startswith(b"SQLite format 3\x00")
    assert marker not in copy
    again = run_cli("backup", str(tmp_path / "copy.db"), env={"DATABASE_URL": url})
    assert again.returncode == 1
    assert (
        again.stderr.strip() == f"backup: {tmp_path / 'copy.db'} exists already; name a new file"
    )


def test_postgresql_backups_are_pg_dumps_said_in_one_sentence(tmp_path: Path) -> None:
    done = run_cli(
        "backup", str(tmp_path / "x.db"), env={"DATABASE_URL": "postgresql://u@127.0.0.1/x"}
    )
    assert done.returncode == 1
    assert "back it up with pg_dump" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_retention_settings_are_read_and_checked() -> None:
    config = load_config({"DELIVERY_RETENTION": "7d", "AUDIT_RETENTION": "90d"}, env_file=None)
    assert config.delivery_retention == 7 * DAY
    assert config.subscription_retention == 30 * DAY
    assert config.audit_retention == 90 * DAY
    for bad in ("0d", "forever", "4000d", "2h"):
        with pytest.raises(
            ConfigError, match=f"^DELIVERY_RETENTION: '{bad}' must be a time from 1d"
        ):
            load_config({"DELIVERY_RETENTION": bad}, env_file=None)


async def test_privacy_tells_the_periods_in_plain_words(storage: Storage) -> None:
    async with serving(storage, delivery_retention=7 * DAY) as bot:
        await bot.command("/help", user=ANA)
        assert "/privacy — how long it is kept, and who could see it" in bot.texts(ANA)[-1]
        await bot.command("/privacy", user=ANA)
        said = bot.texts(ANA)[-1]
        assert "for 7 days after each one is sent" in said
        assert "block or remove the bot: 30 days, then it is deleted" in said
        await bot.command("/privacy", user=BEN, language_code="es")
        assert "durante 7 días después de cada envío" in bot.texts(BEN)[-1]
    assert "could read what is kept. Telegram" in said  # no key: no claim of encryption


async def test_privacy_says_the_ids_are_encrypted_when_they_are(tmp_path: Path) -> None:
    key = bytes(range(64))
    storage = await Storage.open(f"sqlite:///{tmp_path / 'keyed.db'}", key=key)
    try:
        async with serving(storage, id_key=key) as bot:
            await bot.command("/privacy", user=ANA)
            said = bot.texts(ANA)[-1]
    finally:
        await storage.close()
    assert "could read what is kept, though the ids in it are encrypted" in said
