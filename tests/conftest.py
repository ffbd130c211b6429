"""Shared fixtures: storage on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import URL, LargeBinary, inspect, make_url, text
from sqlalchemy.exc import DBAPIError
from telegram import Update

from bot.campaign.content import Content, load_campaigns
from bot.config import Config
from bot.delivery.pacing import Pacer
from bot.handlers.context import BotApplication
from bot.handlers.flood import FloodGuard
from bot.logs import configure_logging
from bot.preview.local_api import Call, LocalBotAPI, LocalRequest
from bot.preview.updates import callback_update, message_update
from bot.server.app import build_application, running
from bot.storage import Storage, metadata
from bot.storage.sealing import Sealer, sealer_of

from .fake_telegram import TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGNS = ROOT / "campaigns"
RUN_DATABASE_PREFIX = "solidarity_test_"


def _run_database(url: str) -> str:
    """Create a database of this test run's own on the server `url` names, and return its URL.

    Nothing else connected to that server (another run, a benchmark, a process left behind by a
    killed session) can then hold a lock our tests wait for. Databases left by runs that are no
    longer alive are dropped first.
    """
    server = make_url(url)
    name = f"{RUN_DATABASE_PREFIX}{os.getpid()}"

    async def create() -> None:
        connection = await _server_connection(server)
        try:
            left = await connection.fetch(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
                RUN_DATABASE_PREFIX,
            )
            for row in left:
                pid = row["datname"].removeprefix(RUN_DATABASE_PREFIX)
                if not pid.isdigit() or not _alive(int(pid)) or int(pid) == os.getpid():
                    await connection.execute(f'DROP DATABASE "{row["datname"]}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return server.set(database=name).render_as_string(hide_password=False)


async def _server_connection(server: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=server.host or "127.0.0.1",
        port=server.port or 5432,
        user=server.username or "postgres",
        password=server.password,
        database=server.database or "postgres",
        timeout=10,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_run_database(url: str) -> None:
    database = make_url(url)

    async def drop() -> None:
        connection = await _server_connection(make_url(SERVER_URL))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database.database}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


# The server the run was given (kept apart: the processes a run starts see their own run's).
SERVER_URL = os.environ.get("TEST_SERVER_URL") or os.environ.get("TEST_DATABASE_URL", "")
POSTGRES_URL = _run_database(SERVER_URL) if SERVER_URL else ""
if POSTGRES_URL:
    os.environ["TEST_SERVER_URL"] = SERVER_URL
    os.environ["TEST_DATABASE_URL"] = POSTGRES_URL  # for tests that read it, and their processes


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop this run's own PostgreSQL database once every test is done."""
    if POSTGRES_URL:
        _drop_run_database(POSTGRES_URL)


def _database_params() -> list[object]:
    params: list[object] = ["sqlite"]
    if POSTGRES_URL:
        params.append(pytest.param("postgres", marks=pytest.mark.postgres))
    return params


async def open_storage(kind: str, tmp_path: Path, key: bytes | None = None) -> Storage:
    """Return an empty storage of the given kind (its ids sealed under `key`, if given)."""
    if kind == "sqlite":
        return await Storage.open(f"sqlite:///{tmp_path / 'test.db'}", key=key)
    storage = Storage.connect(POSTGRES_URL, key=key)
    await drop_tables(storage)
    await storage.create_schema()
    return storage


async def drop_tables(storage: Storage) -> None:
    """Leave the database without the bot's tables (and without a schema revision).

    On PostgreSQL, a connection left holding a lock (a task of an earlier test still running)
    fails this after 20 s, naming what that connection runs, instead of hanging the suite.
    """
    try:
        async with storage.engine.begin() as connection:
            if storage.dialect == "postgresql":
                await connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            await connection.run_sync(metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    except DBAPIError as error:
        if "lock timeout" not in str(error):
            raise
        async with storage.engine.connect() as connection:
            others = await connection.execute(
                text(
                    "SELECT state, left(query, 200) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            raise AssertionError(f"tables held by other connections: {others.all()}") from error


@pytest.fixture(params=_database_params())
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty database: SQLite, and PostgreSQL too when TEST_DATABASE_URL names one."""
    opened = await open_storage(request.param, tmp_path)
    yield opened
    await opened.close()


def id_forms(storage: Storage, value: int) -> dict[str, bytes]:
    """Return the bytes an id may be stored as: sealed by this storage, unsealed, bare."""
    return {
        "sealed": sealer_of(storage.engine.sync_engine.dialect).seal(value),
        "unsealed": Sealer().seal(value),
        "bare": value.to_bytes(8, "big", signed=True),
    }


async def cells_holding(storage: Storage, value: int) -> dict[str, int]:
    """Return, per "table.column", how many cells hold `value` in any form, in every table:
    as a number or text (any column), or as its stored bytes (any binary column)."""
    found = {}
    forms = id_forms(storage, value)
    async with storage.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda c: [
                (table, column["name"], isinstance(column["type"], LargeBinary))
                for table in inspect(c).get_table_names()
                for column in inspect(c).get_columns(table)
            ]
        )
        for table, column, binary in columns:
            where = (
                f'"{column}" IN (:sealed, :unsealed, :bare)'
                if binary
                else f'CAST("{column}" AS TEXT) = :text'
            )
            query = text(f'SELECT count(*) FROM "{table}" WHERE {where}')
            params = forms if binary else {"text": str(value)}
            count = (await connection.execute(query, params)).scalar_one()
            if count:
                found[f"{table}.{column}"] = count
    return found


async def rows_holding(storage: Storage, value: int) -> dict[str, int]:
    """Return, per table, how many rows hold `value` in any column, in any form."""
    found: dict[str, int] = {}
    forms = id_forms(storage, value)
    async with storage.engine.connect() as connection:
        tables = await connection.run_sync(
            lambda c: {
                table: [
                    (col["name"], isinstance(col["type"], LargeBinary))
                    for col in inspect(c).get_columns(table)
                ]
                for table in inspect(c).get_table_names()
            }
        )
        for table, columns in tables.items():
            where = " OR ".join(
                f'"{column}" IN (:sealed, :unsealed, :bare)'
                if binary
                else f'CAST("{column}" AS TEXT) = :text'
                for column, binary in columns
            )
            query = text(f'SELECT count(*) FROM "{table}" WHERE {where}')
            params: dict[str, object] = {**forms, "text": str(value)}
            count = (await connection.execute(query, params)).scalar_one()
            if count:
                found[table] = count
    return found


# The bot, running for real against the in-process Bot API stand-in.

ADMIN, ANA, BEN = 42, 1001, 1002
GROUP = -1001234
FAST_SENDER = {"flush_interval": 0.02, "idle_poll": 0.05, "progress_interval": 0.0}


def fast_pacer(**options: Any) -> Pacer:
    """A pacer for tests that are not about pacing: 1,000 sends a second, no per-chat limits,
    quick retries."""
    defaults: dict[str, Any] = {
        "rate": 1000.0,
        "chat_interval": 0.0,
        "group_per_minute": 1_000_000,
        "network_retry_delays": (0.01, 0.01, 0.01),
    }
    return Pacer(**{**defaults, **options})


async def until(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    """Wait until `condition()` holds, or fail saying what never happened."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


# Every log line of the whole suite, written as the bot writes them when it runs (our levels,
# filters and redaction, at DEBUG), then searched for what must never be in a log.
SHIPPED_LOG = io.StringIO()
USER_TEXTS: set[str] = set()  # what people typed in the tests' updates


@pytest.fixture(scope="session", autouse=True)
def shipped_logs() -> Iterator[None]:
    """Fail the suite if any log line holds the token, a person's name, or what they wrote."""
    configure_logging("DEBUG", [TOKEN], stream=SHIPPED_LOG)
    yield
    text = SHIPPED_LOG.getvalue()
    if USER_TEXTS:  # the bot handled updates, so it logged at DEBUG: else the check is empty
        assert text, "nothing was logged: the check would prove nothing"
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text
    assert "Person" not in text, "a first name reached the log"  # user_dict's names: PersonN
    leaked = sorted(t for t in USER_TEXTS if t in text)
    assert not leaked, f"message texts in the log: {leaked[:5]}"


def remember_texts(update: dict[str, Any]) -> None:
    """Note the texts people type in an update, to look for them in the log afterwards."""
    for kind in ("message", "edited_message", "channel_post"):
        message = update.get(kind)
        if isinstance(message, dict):
            text = message.get("text")
            if isinstance(text, str) and len(text.strip()) >= 12:
                USER_TEXTS.add(text)


class Harness:
    """The real Application fed updates by the tests, and what it sent to Telegram."""

    def __init__(self, application: BotApplication, api: LocalBotAPI, storage: Storage) -> None:
        self.application = application
        self.api = api
        self.storage = storage
        self._update_ids = itertools.count(1)

    async def feed(self, update: dict[str, Any]) -> None:
        """Process one update through every handler, as polling would."""
        update = {"update_id": next(self._update_ids), **update}
        remember_texts(update)
        await self.application.process_update(Update.de_json(update, self.application.bot))

    async def command(
        self,
        text: str,
        *,
        user: int,
        chat: int | None = None,
        chat_type: str = "private",
        **extra: Any,
    ) -> None:
        """Send a message (usually a command) from a user."""
        await self.feed(
            message_update(text, user_id=user, chat_id=chat, chat_type=chat_type, **extra)
        )

    async def press(
        self,
        data: str,
        *,
        user: int,
        chat: int | None = None,
        message_id: int = 1,
        language_code: str | None = "en",
    ) -> None:
        """Press an inline button carrying `data`."""
        chat_type = "private" if (chat or user) > 0 else "supergroup"
        await self.feed(
            callback_update(
                data,
                user_id=user,
                chat_id=chat,
                chat_type=chat_type,
                message_id=message_id,
                language_code=language_code,
            )
        )

    def texts(self, chat: int) -> list[str]:
        """Return the texts sent to a chat, edits applied."""
        return self.api.texts_to(chat)

    def sent_to(self, chat: int) -> list[dict[str, Any]]:
        """Return the messages sent to a chat (documents and photos included), in order."""
        return self.api.sent_to(chat)

    def last(self, chat: int) -> dict[str, Any]:
        """Return the last message sent to a chat."""
        return self.api.sent_to(chat)[-1]

    def buttons(self, chat: int) -> dict[str, str]:
        """Return the last message's buttons, label to callback data (or URL)."""
        markup = self.last(chat).get("reply_markup") or {}
        return {
            b["text"]: b.get("callback_data") or b.get("url")
            for row in markup.get("inline_keyboard", [])
            for b in row
        }

    async def report(self, chat: int, message_id: int) -> str:
        """Wait for a broadcast's final report in its status message, and return it."""
        key = (chat, message_id)
        await until(lambda: "finished" in self.api.messages[key]["text"], "the final report")
        return str(self.api.messages[key]["text"])

    def answers(self) -> list[Call]:
        """Return the answerCallbackQuery calls, in order."""
        return self.api.calls_to("answerCallbackQuery")

    async def settle(self, seconds: float = 10.0) -> None:
        """Wait until no broadcast is being sent and the sender has reported."""
        for _ in range(int(seconds / 0.02)):
            if not await self.storage.sending_broadcasts():
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("broadcast still sending")
        await asyncio.sleep(0.05)


def campaign_folder(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    """Return a campaigns folder holding one file, written from `text`."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API on loopback, for the bot run as a process."""
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def content() -> Content:
    """The campaigns shipped in campaigns/."""
    return load_campaigns(CAMPAIGNS)


@contextlib.asynccontextmanager
async def serving(
    storage: Storage,
    campaigns_dir: Path = CAMPAIGNS,
    *,
    flood_guard: FloodGuard | None = None,
    telegram: FakeTelegram | None = None,
    feed_options: dict[str, Any] | None = None,
    pacer: Pacer | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """Run the real Application, ADMIN as organizer, against a fresh local Bot API (or the
    fake one over HTTP, when `telegram` is given). Feeds are off unless `feed_interval` is set;
    sends are paced by `pacer`, else at 1,000 a second."""
    api = telegram.api if telegram is not None else LocalBotAPI()
    defaults: dict[str, Any] = {"admins": frozenset({ADMIN}), "feed_interval": 0.0}
    if telegram is not None:
        defaults["api_url"] = telegram.url
    config = Config(**{**defaults, "campaigns_dir": campaigns_dir, **settings})
    application = build_application(
        config,
        load_campaigns(campaigns_dir),
        storage,
        token=TOKEN,
        request=LocalRequest(api) if telegram is None else None,
        sender_options=FAST_SENDER,
        flood_guard=flood_guard,
        pacer=pacer or fast_pacer(),
        feed_options=feed_options,
    )
    async with running(application):
        yield Harness(application, api, storage)


@pytest.fixture
async def bot(storage: Storage) -> AsyncIterator[Harness]:
    """The bot serving the shipped campaigns."""
    async with serving(storage) as harness:
        yield harness
