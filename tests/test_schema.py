"""Schema versions: new databases, migrations up and down, old databases holding data."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.storage import BroadcastState, Outcome, Periods, Result, Status, Storage, metadata, schema
from bot.storage.schema import SchemaError
from bot.storage.shared_pace import TABLE, in_schema

from .conftest import POSTGRES_URL, _database_params, drop_tables
from .fake_telegram import TOKEN
from .test_cli import bot_command

V1_TIME = "2026-05-01 12:00:00"
HEAD = schema.head()


async def _empty(kind: str, tmp_path: Path) -> Storage:
    if kind == "sqlite":
        return Storage.connect(f"sqlite:///{tmp_path / 'schema.db'}")
    storage = Storage.connect(POSTGRES_URL)
    await drop_tables(storage)
    return storage


@pytest.fixture(params=_database_params())
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A database without tables: SQLite, and PostgreSQL when TEST_DATABASE_URL is set."""
    storage = await _empty(request.param, tmp_path)
    yield storage
    await storage.close()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"include_name": in_schema})
    return list(compare_metadata(context, metadata))


def _to_base(connection: Connection) -> None:
    config = schema._alembic_config()
    config.attributes["connection"] = connection
    try:
        command.downgrade(config, "base")
    finally:
        del config.attributes["connection"]


async def _tables(storage: Storage) -> set[str]:
    async with storage.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: set(sync.dialect.get_table_names(sync)) - {"sqlite_sequence", TABLE}
        )


async def _v1_database_with_data(storage: Storage, *, recorded: bool = True) -> None:
    """Build the first release's schema through migration 0001 and fill it as v1 would."""
    await storage.migrate("0001")
    statements = [
        "INSERT INTO subscriptions VALUES (1001, 'rafah', 'private', 'en', 'active', 'flyer', "
        f"'{V1_TIME}', '{V1_TIME}')",
        "INSERT INTO subscriptions VALUES (1002, 'rafah', 'private', NULL, 'blocked', NULL, "
        f"'{V1_TIME}', '{V1_TIME}')",
        "INSERT INTO subscriptions VALUES (-1001234, 'rafah', 'group', NULL, 'active', NULL, "
        f"'{V1_TIME}', '{V1_TIME}')",
        "INSERT INTO broadcasts (id, campaign_id, kind, parts, created_by, created_at, state, "
        "status_chat_id, status_message_id, uncertain, finished_at) VALUES (1, 'rafah', 'text', "
        f"'[\"Hello\"]', 42, '{V1_TIME}', 'done', 42, 7, 0, '{V1_TIME}')",
        "INSERT INTO broadcasts (id, campaign_id, kind, parts, created_by, created_at, state, "
        "status_chat_id, status_message_id, uncertain, finished_at) VALUES (2, 'rafah', 'text', "
        f"'[\"Again\"]', 42, '{V1_TIME}', 'sending', 42, 8, 0, NULL)",
        "INSERT INTO deliveries (broadcast_id, chat_id, status, attempts, error, updated_at) "
        f"VALUES (1, 1001, 'sent', 1, NULL, '{V1_TIME}'), "
        f"(1, 1002, 'blocked', 1, 'Forbidden', '{V1_TIME}'), "
        f"(2, 1001, 'sending', 1, NULL, '{V1_TIME}'), "
        f"(2, -1001234, 'pending', 0, NULL, '{V1_TIME}')",
        f"INSERT INTO audit_log (admin_id, action, detail, created_at) VALUES (42, 'broadcast', "
        f"'#1 to rafah', '{V1_TIME}')",
    ]
    async with storage.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
        if not recorded:  # as the first release left it: no alembic_version table
            await connection.execute(text("DROP TABLE alembic_version"))


async def test_a_new_database_is_created_at_the_latest_revision(empty: Storage) -> None:
    await empty.create_schema()
    found = await empty.schema_state()
    assert found.revision == schema.head() == schema.revisions()[-1]
    assert found.current
    assert {"subscriptions", "broadcasts", "deliveries", "audit_log"} <= await _tables(empty)


async def test_migrations_build_exactly_the_models_schema(empty: Storage) -> None:
    """Migrating from nothing and creating from the models give the same tables and indexes."""
    await empty.migrate()
    async with empty.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_stairway_every_revision_upgrades_and_downgrades(empty: Storage) -> None:
    """Each revision in turn: up, down one step, up again; then all the way down."""
    previous: str | None = None
    for revision in schema.revisions():
        await empty.migrate(revision)
        assert (await empty.schema_state()).revision == revision
        if previous is None:
            async with empty.engine.begin() as connection:
                await connection.run_sync(_to_base)
            assert await _tables(empty) == {"alembic_version"}
        else:
            await empty.migrate(previous)
            assert (await empty.schema_state()).revision == previous
        await empty.migrate(revision)
        previous = revision
    async with empty.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    async with empty.engine.begin() as connection:
        await connection.run_sync(_to_base)
    assert await _tables(empty) == {"alembic_version"}


async def test_upgrading_a_v1_database_keeps_every_row(empty: Storage) -> None:
    await _v1_database_with_data(empty)
    with pytest.raises(SchemaError, match=r"python -m bot migrate"):
        await empty.create_schema()

    assert await empty.migrate() == f"migrated the database from schema 0001 to schema {HEAD}"

    assert (await empty.schema_state()).current
    subscriptions = {(s.chat_id, s.status, s.source) async for s in empty.subscriptions()}
    assert subscriptions == {
        (1001, Status.ACTIVE, "flyer"),
        (1002, Status.BLOCKED, None),
        (-1001234, Status.ACTIVE, None),
    }
    first = await empty.progress(1)
    assert first is not None
    assert (first.state, first.sent, first.blocked, first.total) == (BroadcastState.DONE, 1, 1, 2)
    assert first.created_at == dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    # The broadcast v1 was sending carries on: the row in flight counts as uncertain.
    assert await empty.requeue_in_flight() == 1
    jobs = await empty.claim_jobs(10)
    assert {job.chat_id for job in jobs} == {1001, -1001234}
    assert [entry[1] for entry in await empty.audit_log()] == ["broadcast"]


async def test_a_database_from_before_migrations_is_recognised(empty: Storage) -> None:
    """v1 made its tables with create_all and kept no revision: it is read as 0001."""
    await _v1_database_with_data(empty, recorded=False)
    found = await empty.schema_state()
    assert (found.revision, found.recorded) == ("0001", False)
    with pytest.raises(
        SchemaError, match=rf"schema 0001 and this version of the bot needs {HEAD}"
    ):
        await empty.create_schema()
    await empty.create_schema(migrate=True)
    assert (await empty.schema_state()).current
    assert len([s async for s in empty.subscriptions()]) == 3


async def test_a_database_newer_than_the_bot_is_refused(empty: Storage) -> None:
    await empty.create_schema()
    async with empty.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(SchemaError, match=r"schema 0099, which this version of the bot"):
        await empty.create_schema(migrate=True)


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")
async def test_processes_starting_at_once_create_the_schema_once(tmp_path: Path) -> None:
    storages = [await _empty("postgres", tmp_path) for _ in range(4)]
    try:
        await asyncio.gather(*(storage.create_schema() for storage in storages))
        assert (await storages[0].schema_state()).current
    finally:
        for storage in storages:
            await storage.close()


# The command line


def _bot(*args: str, database: str, token: bool = True) -> tuple[int, str, str]:
    env = {"DATABASE_URL": database}
    if token:
        env["TELEGRAM_BOT_TOKEN"] = TOKEN
        env["TELEGRAM_API_URL"] = "http://127.0.0.1:9"  # nothing listens: never reached
    done = bot_command(*args, env=env)
    return done.returncode, done.stdout, done.stderr


async def test_run_refuses_an_old_database_and_migrate_brings_it_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    storage = Storage.connect(url)
    await _v1_database_with_data(storage)
    await storage.close()

    code, _, err = _bot("run", database=url)
    assert code == 1
    assert err.strip().splitlines() == [
        f"The database has schema 0001 and this version of the bot needs {HEAD}: back it up, "
        "then run `python -m bot migrate` (or start the bot with `python -m bot run --migrate`)."
    ]
    assert TOKEN not in err

    code, out, _ = _bot("migrate", database=url, token=False)
    assert (code, out) == (0, f"migrated the database from schema 0001 to schema {HEAD}\n")
    code, out, _ = _bot("migrate", database=url, token=False)
    assert (code, out) == (0, f"the database is already at schema {HEAD}\n")
    code, out, _ = _bot("stats", database=url, token=False)
    assert code == 0
    assert "rafah" in out


async def test_migrate_refuses_a_missing_file_and_an_unknown_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    code, _, err = _bot("migrate", database=url, token=False)
    assert code == 1
    assert "no database at" in err
    assert not (tmp_path / "none.db").exists()

    url = f"sqlite:///{tmp_path / 'schema.db'}"
    await (await Storage.open(url)).close()
    code, _, err = _bot("migrate", "--to", "7", database=url, token=False)
    assert code == 1
    assert "There is no schema revision '7'" in err


async def test_downgrading_to_v1_maps_states_v1_does_not_know(empty: Storage) -> None:
    """Scheduled broadcasts are cancelled (not sent at once); claimed rows wait again."""
    await empty.create_schema()
    for chat_id in (1001, 1002, 1003):
        await empty.subscribe(chat_id, "rafah", chat_type="private")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    scheduled = await empty.create_broadcast("rafah", "text", ["Later"], 42, send_at=later)
    await empty.start_broadcast(scheduled, 42, 7)
    stopped = await empty.create_broadcast("rafah", "text", ["Stop"], 42)
    await empty.start_broadcast(stopped, 42, 8)
    await empty.stop_broadcast(stopped)  # its three recipients: cancelled
    running = await empty.create_broadcast("rafah", "text", ["Now"], 42)
    await empty.start_broadcast(running, 42, 9)
    assert len(await empty.claim_jobs(2)) == 2  # two claimed, one pending

    await empty.migrate("0001")

    async with empty.engine.connect() as connection:
        states = dict((await connection.execute(text("SELECT id, state FROM broadcasts"))).all())
        outcomes = sorted(
            (await connection.execute(text("SELECT status, error FROM deliveries"))).all()
        )
    assert states == {scheduled: "cancelled", stopped: "cancelled", running: "sending"}
    assert outcomes == [("failed", "stopped by an organizer")] * 3 + [("pending", None)] * 3


def test_run_with_the_database_out_of_reach_exits_75() -> None:
    code, _, err = _bot("run", database="postgresql://postgres@127.0.0.1:1/nothing_here")
    assert code == 75  # EX_TEMPFAIL: a service manager may try again
    assert err.strip().splitlines() == [
        "cannot open the database (ConnectionRefusedError): check DATABASE_URL"
    ]


async def test_retention_and_approvals_go_down_and_up_keeping_rows(empty: Storage) -> None:
    """Down to 0007: a purged broadcast keeps its row (its counts go), a broadcast or a
    retraction waiting for approval is cancelled (0007 knows no waiting); up again, every row
    is there."""
    await empty.create_schema()
    for chat_id in (1001, 1002):
        await empty.subscribe(chat_id, "rafah", chat_type="private")
    done = await empty.create_broadcast("rafah", "broadcast", ["Old"], 42)
    await empty.start_broadcast(done, 42, 7)
    jobs = await empty.claim_jobs(10)
    await empty.mark_sending([job.delivery_id for job in jobs])
    await empty.record_results(Result(job.delivery_id, Outcome.SENT) for job in jobs)
    await empty.finish_broadcasts()
    now = empty.clock()
    empty.clock = lambda: now + dt.timedelta(days=31)
    assert (await empty.forget_expired(Periods(), over=(), known=())).deliveries == 2
    waiting = await empty.create_broadcast("rafah", "broadcast", ["Big"], 42)
    assert await empty.ask_approval(waiting, 42, 8)
    retraction = await empty.create_correction(done, "delete", 42)
    assert await empty.ask_correction_approval(retraction, 42, 9)

    await empty.migrate("0007")
    async with empty.engine.connect() as connection:
        states = dict((await connection.execute(text("SELECT id, state FROM broadcasts"))).all())
    assert states == {done: "done", waiting: "cancelled"}
    async with empty.engine.connect() as connection:
        held = await connection.scalar(text("SELECT state FROM corrections"))
    assert held == "cancelled"  # 0007..0009 know no waiting either
    await empty.migrate()
    assert (await empty.schema_state()).current
    assert [s.chat_id async for s in empty.subscriptions()] == [1001, 1002]
    old = await empty.progress(done)
    assert old is not None
    assert (old.state, old.total) == ("done", 0)  # the counts were dropped with 0009's column


async def test_uploads_come_with_0008_and_go_with_its_downgrade(empty: Storage) -> None:
    """Migration 0008 adds the uploads table, usable at once; going back to 0006 drops it."""
    await empty.migrate("0006")
    assert "uploads" not in await _tables(empty)
    await empty.migrate("0008")
    assert "uploads" in await _tables(empty)
    await empty.remember_upload("sha256:cc", "photo", "id-1")
    assert await empty.uploaded_file_id("sha256:cc", "photo") == "id-1"
    await empty.migrate("0006")
    assert "uploads" not in await _tables(empty)
