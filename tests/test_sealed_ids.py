"""Ids sealed at rest (issue 14): the stored form, the key check, rotation, the command line."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import parse_id_key
from bot.storage import Storage, keys
from bot.storage.rotation import rotate_key
from bot.storage.sealing import Sealer, SealError

from .conftest import POSTGRES_URL, _database_params, cells_holding, drop_tables, open_storage
from .fake_telegram import TOKEN
from .test_cli import bot_command

KEY = bytes(range(64))
OTHER_KEY = bytes(range(1, 65))
ANA, BEN, GROUP = 5_123_456_789, 5_123_456_790, -1_001_234_567_890
IDS = [0, 1, -1, 42, ANA, GROUP, 2**63 - 1, -(2**63)]


def test_stored_ids_are_of_one_width_whatever_the_id() -> None:
    """Every id is 9 bytes unsealed and 25 sealed, the same bytes each time, and reads back."""
    for sealer, width in ((Sealer(), 9), (Sealer(KEY), 25)):
        stored = [sealer.seal(chat_id) for chat_id in IDS]
        assert {len(value) for value in stored} == {width}
        assert stored == [sealer.seal(chat_id) for chat_id in IDS]
        assert [sealer.unseal(value) for value in stored] == IDS
    assert Sealer().seal(ANA) == b"\x00" + ANA.to_bytes(8, "big", signed=True)
    assert ANA.to_bytes(8, "big", signed=True) not in Sealer(KEY).seal(ANA)


def test_a_sealed_id_is_never_read_without_its_key() -> None:
    """A wrong key, no key, or a key over an unsealed id raises instead of yielding garbage."""
    sealed = Sealer(KEY).seal(ANA)
    with pytest.raises(SealError, match="another key"):
        Sealer(OTHER_KEY).unseal(sealed)
    with pytest.raises(SealError, match="no key is set"):
        Sealer().unseal(sealed)
    with pytest.raises(SealError, match="not sealed"):
        Sealer(KEY).unseal(Sealer().seal(ANA))


@pytest.fixture(params=_database_params())
async def kind(request: pytest.FixtureRequest) -> str:
    """Which database: SQLite, and PostgreSQL when TEST_DATABASE_URL is set."""
    return str(request.param)


@pytest.fixture
async def sealed(kind: str, tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty database whose ids are sealed under KEY."""
    storage = await open_storage(kind, tmp_path, key=KEY)
    yield storage
    await storage.close()


def _url(kind: str, tmp_path: Path, name: str = "test.db") -> str:
    return f"sqlite:///{tmp_path / name}" if kind == "sqlite" else POSTGRES_URL


async def _reopen(kind: str, tmp_path: Path, key: bytes | None) -> Storage:
    return await Storage.open(_url(kind, tmp_path), key=key)


async def _fill(storage: Storage) -> int:
    """Store a person in every table that holds ids; return the broadcast's id."""
    await storage.subscribe(ANA, "rafah", chat_type="private", language_code="en")
    await storage.subscribe(BEN, "rafah", chat_type="private")
    await storage.subscribe(GROUP, "rafah", chat_type="supergroup")
    await storage.set_language(ANA, "ar")
    await storage.pledge(ANA, "rafah", "a1")
    broadcast = await storage.create_broadcast("rafah", "broadcast", ["hi"], created_by=BEN)
    await storage.start_broadcast(broadcast, BEN, 7)
    await storage.audit(BEN, "broadcast_send", "x")
    return broadcast


async def _everything(storage: Storage) -> tuple[object, ...]:
    """Read back, through the public methods, all that `_fill` stored."""
    subscriptions = sorted([(s.chat_id, s.status) async for s in storage.subscriptions()])
    about_ana = await storage.stored_about(ANA)
    return (
        subscriptions,
        await storage.pledged(ANA, "rafah"),
        await storage.chosen_languages(),
        [entry[:2] for entry in await storage.audit_log()],
        about_ana,
        await storage.stored_about(BEN),
    )


async def test_a_sealed_database_answers_as_a_plain_one(sealed: Storage) -> None:
    """Lookups, joins, the outbox's INSERT ... SELECT and its claims work on sealed ids."""
    broadcast = await _fill(sealed)
    jobs = await sealed.claim_jobs(10)
    assert sorted(job.chat_id for job in jobs) == sorted([ANA, BEN, GROUP])
    assert {job.broadcast_id for job in jobs} == {broadcast}
    assert await sealed.mark_sending([job.delivery_id for job in jobs]) == {
        job.delivery_id for job in jobs
    }
    assert await sealed.is_subscribed(ANA, "rafah")
    assert await sealed.migrate_chat(GROUP, GROUP - 1) == set()
    assert await sealed.is_subscribed(GROUP - 1, "rafah")
    assert await sealed.chosen_languages() == {ANA: "ar"}
    assert await sealed.forget(ANA) > 0
    assert await cells_holding(sealed, ANA) == {}
    assert await sealed.is_subscribed(BEN, "rafah")


async def test_a_missing_or_wrong_key_is_refused_in_one_sentence(
    sealed: Storage, kind: str, tmp_path: Path
) -> None:
    """Opened without its key, or with another, the database refuses before any lookup."""
    await _fill(sealed)
    await sealed.close()
    for key, sentence in ((None, keys.MISSING), (OTHER_KEY, keys.WRONG)):
        with pytest.raises(SealError) as refused:
            await _reopen(kind, tmp_path, key)
        assert str(refused.value) == sentence
    again = await _reopen(kind, tmp_path, KEY)
    assert (await _everything(again))[0] == sorted(
        [(ANA, "active"), (BEN, "active"), (GROUP, "active")]
    )
    await again.close()


async def test_a_key_is_refused_on_unsealed_ids_and_taken_by_an_empty_database(
    kind: str, tmp_path: Path
) -> None:
    """A key over unsealed ids stops (rotate-key seals them); a database without ids takes it."""
    plain = await open_storage(kind, tmp_path)
    await plain.close()
    adopted = await _reopen(kind, tmp_path, KEY)  # no ids yet: sealed from now on
    await adopted.subscribe(ANA, "rafah", chat_type="private")
    await adopted.close()
    with pytest.raises(SealError, match="sealed with a key"):
        await _reopen(kind, tmp_path, None)

    plain = await open_storage(kind, tmp_path / "other")
    await plain.subscribe(ANA, "rafah", chat_type="private")
    await plain.close()
    url = _url(kind, tmp_path / "other")
    with pytest.raises(SealError) as refused:
        await Storage.open(url, key=KEY)
    assert str(refused.value) == keys.UNSEALED


async def test_rotation_keeps_every_row_under_each_key(kind: str, tmp_path: Path) -> None:
    """None -> a key -> another key -> none: every row read back the same, old keys refused."""
    storage = await open_storage(kind, tmp_path)
    await _fill(storage)
    expected = await _everything(storage)
    for old, new in ((None, KEY), (KEY, OTHER_KEY), (OTHER_KEY, None)):
        assert await rotate_key(storage, new) > 0
        if kind == "sqlite":  # compacted: no free page, an empty write-ahead log
            assert await _free_pages(storage) == 0
            assert (tmp_path / "test.db-wal").stat().st_size == 0
        await storage.close()
        if old is not None:
            with pytest.raises(SealError):
                await _reopen(kind, tmp_path, old)
        storage = await _reopen(kind, tmp_path, new)
        assert await _everything(storage) == expected
    assert len(await storage.claim_jobs(10)) == 3
    await storage.close()


async def _free_pages(storage: Storage) -> int:
    async with storage.engine.connect() as connection:
        return int((await connection.exec_driver_sql("PRAGMA freelist_count")).scalar_one())


async def test_rotation_refuses_while_a_bot_holds_the_sender_lock(sealed: Storage) -> None:
    """rotate-key waits for no running bot: it says to stop it, and nothing changes."""
    from bot.storage.leader import sender_lock

    await _fill(sealed)
    lock = sender_lock(sealed.engine)
    await lock.acquire()
    try:
        with pytest.raises(SealError, match="a bot is running"):
            await rotate_key(sealed, OTHER_KEY)
    finally:
        await lock.release()
    assert await sealed.is_subscribed(ANA, "rafah")


# The migration, with data


async def _database_at_0010(kind: str, tmp_path: Path) -> Storage:
    """A database at schema 0010 holding ids in every id column, as plain integers."""
    storage = Storage.connect(_url(kind, tmp_path, "old.db"))
    if kind != "sqlite":
        await drop_tables(storage)
    await storage.migrate("0010")
    now = "'2026-05-01 12:00:00'"
    statements = [
        f"INSERT INTO subscriptions VALUES ({ANA}, 'rafah', 'private', 'en', 'active', NULL, "
        f"{now}, {now}, NULL), ({GROUP}, 'rafah', 'group', NULL, 'active', NULL, {now}, {now}, "
        "',london,')",
        f"INSERT INTO preferences VALUES ({ANA}, 'ar', {now})",
        f"INSERT INTO pledges VALUES ({ANA}, 'rafah', 'a1', {now}, NULL)",
        "INSERT INTO broadcasts (id, campaign_id, kind, parts, created_by, created_at, state, "
        f"status_chat_id, status_message_id, uncertain) VALUES (1, 'rafah', 'text', "
        f"'[\"Hi\"]', {BEN}, {now}, 'sending', {BEN}, 7, 0)",
        "INSERT INTO deliveries (broadcast_id, chat_id, status, attempts, updated_at) VALUES "
        f"(1, {ANA}, 'pending', 0, {now}), (1, {GROUP}, 'pending', 0, {now})",
        f"INSERT INTO audit_log (admin_id, action, detail, created_at) VALUES ({BEN}, 'x', "
        f"'', {now})",
        "INSERT INTO feed_items (campaign_id, guid, digest, seen_at, state, decided_by) VALUES "
        f"('rafah', 'g', 'd', {now}, 'added', {BEN})",
    ]
    async with storage.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    return storage


ID_QUERY = (
    "SELECT s.chat_id, p.chat_id, l.chat_id, b.created_by, b.status_chat_id, d.chat_id, "
    "a.admin_id, f.decided_by FROM subscriptions s, preferences p, pledges l, broadcasts b, "
    "deliveries d, audit_log a, feed_items f ORDER BY d.id, s.campaign_id, s.chat_type"
)


async def _raw_ids(storage: Storage) -> list[tuple[object, ...]]:
    async with storage.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(ID_QUERY))]


async def test_the_migration_keeps_every_id_up_and_down(kind: str, tmp_path: Path) -> None:
    """0010 -> 0011 turns every id column into unsealed bytes; 0011 -> 0010 back, nothing lost."""
    storage = await _database_at_0010(kind, tmp_path)
    before = await _raw_ids(storage)
    assert {value for row in before for value in row} == {ANA, BEN, GROUP}
    try:
        await storage.migrate("0011")
        unsealed = Sealer().seal
        assert await _raw_ids(storage) == [tuple(map(unsealed, row)) for row in before]
        await storage.migrate("0010")
        assert await _raw_ids(storage) == before
        await storage.migrate("0011")
        assert await storage.chosen_languages() == {ANA: "ar"}
        assert {job.chat_id for job in await storage.claim_jobs(10)} == {ANA, GROUP}
    finally:
        await storage.close()


async def test_going_down_refuses_ids_sealed_under_a_key(kind: str, tmp_path: Path) -> None:
    """Schema 0010 cannot read sealed ids: downgrading says to rotate to no key first."""
    storage = await _database_at_0010(kind, tmp_path)
    await storage.migrate()
    await rotate_key(storage, KEY)
    await storage.close()
    url = _url(kind, tmp_path, "old.db")
    storage = await Storage.open(url, key=KEY)
    try:
        from bot.storage.schema import SchemaError

        with pytest.raises(SchemaError, match=r"rotate-key --to-none"):
            await storage.migrate("0010")
        assert await storage.is_subscribed(ANA, "rafah")
        await rotate_key(storage, None)
    finally:
        await storage.close()
    storage = await Storage.open(url)
    try:
        await storage.migrate("0010")
        assert len({value for row in await _raw_ids(storage) for value in row}) == 3
    finally:
        await storage.close()


# The command line


def _bot(*args: str, database: str, key: str | None = None) -> tuple[int, str, str]:
    env = {
        "DATABASE_URL": database,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": "http://127.0.0.1:9",  # nothing listens: never reached
    }
    if key is not None:
        env["ID_ENCRYPTION_KEY"] = key
    done = bot_command(*args, env=env)
    return done.returncode, done.stdout, done.stderr


def _text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


async def test_run_stops_with_one_sentence_on_a_missing_or_wrong_key(tmp_path: Path) -> None:
    """`run` exits 2 with one sentence, before reaching Telegram, for each key problem."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    storage = await Storage.open(url, key=KEY)
    await storage.subscribe(ANA, "rafah", chat_type="private")
    await storage.close()
    plain_url = f"sqlite:///{tmp_path / 'plain.db'}"
    storage = await Storage.open(plain_url)
    await storage.subscribe(ANA, "rafah", chat_type="private")
    await storage.close()
    for database, key, sentence in (
        (url, None, keys.MISSING),
        (url, _text(OTHER_KEY), keys.WRONG),
        (plain_url, _text(KEY), keys.UNSEALED),
    ):
        code, _, err = _bot("run", database=database, key=key)
        assert (code, err.strip().splitlines()) == (2, [sentence])
    code, _, err = _bot("run", database=url, key="not a key")
    assert code == 2
    assert err.strip().splitlines() == [
        "error: ID_ENCRYPTION_KEY is not a key made by `python -m bot new-key` (base64 of 32, "
        "48 or 64 bytes): make one with that command"
    ]


async def test_new_key_and_rotate_key_through_the_command_line(tmp_path: Path) -> None:
    """new-key prints a key; rotate-key seals a database's ids under it, and back to none."""
    done = bot_command("new-key")
    assert done.returncode == 0
    assert len(parse_id_key(done.stdout)) == 64
    assert bot_command("new-key").stdout != done.stdout
    key_file = tmp_path / "id-key"
    key_file.write_text(done.stdout)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    storage = await Storage.open(url)
    await _fill(storage)
    await storage.close()
    file_bytes = (tmp_path / "bot.db").read_bytes
    assert ANA.to_bytes(8, "big", signed=True) in file_bytes()

    code, out, err = _bot("rotate-key", "--to-key-file", str(key_file), database=url)
    assert code == 0, err
    assert out.startswith("re-sealed 12 stored id(s) and compacted the database: set ")
    assert ANA.to_bytes(8, "big", signed=True) not in file_bytes()
    assert _bot("stats", database=url)[0] == 2
    code, out, _ = _bot("stats", database=url, key=done.stdout.strip())
    assert code == 0
    assert "rafah" in out

    code, _, err = _bot("rotate-key", "--to-none", database=url)
    assert (code, err.strip()) == (2, keys.MISSING)
    code, out, _ = _bot("rotate-key", "--to-none", database=url, key=done.stdout.strip())
    assert code == 0
    assert _bot("stats", database=url)[0] == 0


def test_no_column_stores_an_id_in_the_clear() -> None:
    """Every Telegram id column is SealedId: a BigInteger column (how ids were stored before
    issue 14, and nothing else is that big) would keep ids in the clear under any key."""
    from sqlalchemy import BigInteger

    from bot.storage import metadata

    plain = [
        f"{column.table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, BigInteger)
        and column is not metadata.tables["inbox"].c.update_id  # Telegram's, not a person's
    ]
    assert plain == []
    assert {f"{c.table.name}.{c.name}" for c in keys.sealed_columns()} == {
        "subscriptions.chat_id",
        "preferences.chat_id",
        "pledges.chat_id",
        "deliveries.chat_id",
        "broadcasts.created_by",
        "broadcasts.status_chat_id",
        "broadcasts.approved_by",
        "corrections.created_by",
        "corrections.status_chat_id",
        "corrections.approved_by",
        "audit_log.admin_id",
        "feed_items.decided_by",
        "inbox.chat",
        "approval_asks.chat_id",
        "content_versions.published_by",
        "key_check.marker",
    }
    assert {f"{c.table.name}.{c.name}" for c in keys.sealed_payload_columns()} == {"inbox.payload"}


async def test_a_database_error_prints_no_id(kind: str, tmp_path: Path) -> None:
    """The engine hides a failed statement's parameters: an error logged names no one."""
    import datetime as dt

    from sqlalchemy.exc import IntegrityError

    from bot.storage import SubscriptionRecord

    storage = await open_storage(kind, tmp_path)
    now = dt.datetime.now(dt.UTC)
    record = SubscriptionRecord(ANA, "rafah", "private", "en", "active", "flyer", now, now)
    try:
        await storage.add_subscriptions([record])
        with pytest.raises(IntegrityError) as failed:
            await storage.add_subscriptions([record])  # the same row again
    finally:
        await storage.close()
    message = str(failed.value)
    assert "parameters hidden" in message
    assert str(ANA) not in message
    assert Sealer().seal(ANA).hex() not in message
    assert "flyer" not in message


async def test_copy_db_carries_sealed_ids_into_another_database(
    sealed: Storage, tmp_path: Path
) -> None:
    """copy-db reads each id under the source's key and seals it under the target's."""
    from bot.storage.copydb import copy_database

    await _fill(sealed)
    expected = await _everything(sealed)
    target = Storage.connect(f"sqlite:///{tmp_path / 'copy.db'}", key=OTHER_KEY)
    try:
        copied = await copy_database(sealed, target)
        assert copied["subscriptions"] == 3
        assert await _everything(target) == expected
        assert await cells_holding(target, ANA) == await cells_holding(sealed, ANA)
    finally:
        await target.close()
    with pytest.raises(SealError):
        await Storage.open(f"sqlite:///{tmp_path / 'copy.db'}", key=KEY)
