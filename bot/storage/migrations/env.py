"""Alembic's entry point: migrate the connection the bot hands over, or DATABASE_URL's database.

`python -m bot migrate` (bot/storage/schema.py) passes its own connection in
`config.attributes`; the `alembic` command line (for writing new revisions) connects to
DATABASE_URL itself.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage import metadata
from bot.storage.shared_pace import in_schema


def run_migrations(connection: Connection) -> None:
    # No batch mode: SQLite 3.35+ adds and drops columns in place. A future migration that
    # must rebuild an SQLite table has to switch foreign keys off first (ON DELETE CASCADE
    # would empty the tables that point at the rebuilt one).
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_name=in_schema,  # the shared send pace's table is made at start-up, not here
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_database_url() -> None:
    from bot.config import load_config
    from bot.storage import Storage

    config = load_config()
    storage = Storage.connect(config.database_url, key=config.id_key)
    try:
        async with storage.engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await storage.close()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them on a database")
given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    asyncio.run(_run_on_database_url())
