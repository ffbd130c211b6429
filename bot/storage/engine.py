"""The database itself: the engine and its settings, and creating or migrating the schema."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.storage import keys, schema
from bot.storage.models import Base, metadata
from bot.storage.sealing import Sealer, bind

logger = logging.getLogger(__name__)


Clock = Callable[[], dt.datetime]
POOL_SIZE = 20


def utc_now() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


def async_url(url: str) -> str:
    """Map `sqlite:///...` and `postgresql://...` to the async drivers we ship."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def sqlite_file(url: str) -> Path | None:
    """Return the file of an SQLite URL, or None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (stats, export) run while the sender writes; the busy timeout makes a
    # second writer wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 1 MiB of page cache per connection instead of 2: with several connections the default
    # made memory grow with the outbox (peak RSS 1.22x at 100,000 recipients, 1.09x now).
    cursor.execute("PRAGMA cache_size=-1024")
    # Deleted rows (an erased subscriber, expired deliveries) are overwritten, not left in
    # free pages for anyone who copies the file to read.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class Database:
    """The engine and its sessions: what every part of Storage works through."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self._session = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str, clock: Clock = utc_now, *, key: bytes | None = None) -> Self:
        """Set up the database at `url` without connecting yet (connections bind to a loop).

        Ids are sealed under `key` (bot/storage/sealing.py), or stored unsealed without one.
        """
        target = make_url(async_url(url))
        file = sqlite_file(url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        # No pre-ping: it costs a round trip per transaction (a third of a sign-up's time in
        # the sign-up storm benchmark). A connection the server dropped fails one request
        # instead, which gets the error reply, and the pool then reconnects by itself.
        # asyncpg waits 60 s for a connection by default: a database that is away should
        # answer "not now" within seconds instead.
        connect_args = {"timeout": 5} if target.get_backend_name() == "postgresql" else {}
        pool: dict[str, int] = {}
        if target.database not in (None, "", ":memory:"):
            # Enough kept connections for every update handled at once (16), the sender and
            # its lock: beyond the kept ones a connection is opened and closed per use, and
            # on PostgreSQL each one is a new server process (the sign-up storm ran 30% slower).
            # Last in, first out: the few connections in steady use stay warm, and the rest
            # (with their SQLite page caches) stay cold until a burst needs them.
            pool = {"pool_size": POOL_SIZE, "max_overflow": 10, "pool_use_lifo": True}
        # hide_parameters: an error's message never prints the ids a statement was given.
        engine = create_async_engine(
            target, connect_args=connect_args, hide_parameters=True, **pool
        )
        bind(engine.sync_engine.dialect, Sealer(key))
        if target.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return cls(engine, clock)

    @classmethod
    async def open(cls, url: str, clock: Clock = utc_now, *, key: bytes | None = None) -> Self:
        """Connect to the database at `url`, creating the file and tables on first run."""
        storage = cls.connect(url, clock, key=key)
        try:
            await storage.create_schema()
        except BaseException:
            await storage.close()
            raise
        return storage

    async def create_schema(self, *, migrate: bool = False) -> None:
        """Create a new database's tables, or check that an existing one is up to date.

        Raises SchemaError if it is not, unless `migrate` is true: then it is migrated. Then
        checks the key the ids are sealed with (SealError if it is missing or wrong).
        """
        async with self.engine.begin() as connection:
            done = await connection.run_sync(schema.prepare, metadata, migrate=migrate)
            sealed = await connection.run_sync(keys.check_key)
        for what in (done, sealed):
            if what:
                logger.info("%s", what)

    async def migrate(self, revision: str | None = None) -> str | None:
        """Migrate the schema to `revision` (default: the latest); return what was done."""
        target = revision or schema.head()
        async with self.engine.begin() as connection:
            return await connection.run_sync(schema.migrate_to, metadata, target)

    async def schema_state(self) -> schema.SchemaState:
        """Return the schema's revision and the one this version of the bot needs."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(schema.state, metadata)

    async def backup_to(self, path: Path) -> None:
        """Write a compact copy of an SQLite database to a new file, without the free pages
        that can still hold deleted rows (VACUUM INTO). Safe while the bot runs."""
        assert self.dialect == "sqlite"
        async with self.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM INTO ?", (str(path),))

    async def close(self) -> None:
        """Release the database connections."""
        await self.engine.dispose()

    def _insert(self, model: type[Base]) -> Any:
        """Return an INSERT for `model` that knows ON CONFLICT, in this database's dialect."""
        return (sqlite_insert if self.dialect == "sqlite" else postgresql_insert)(model)

    @property
    def dialect(self) -> str:
        """Return the database's dialect name (sqlite or postgresql)."""
        return self.engine.dialect.name
