"""The database schema's version: created at the latest on first run, migrated on request.

Migrations are Alembic revisions in bot/storage/migrations/versions. A new database is created
from the models and stamped with the latest revision (a test checks the two give the same schema).
An existing one at an older revision is only migrated when asked (`python -m bot migrate`, or
`run --migrate`): a migration is a moment for a backup, not a side effect of a restart.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# Held (per transaction) while the schema is checked or changed, so that several processes
# starting at once on one PostgreSQL database do not create or migrate it twice.
_SCHEMA_LOCK = 0x5B_0701


class SchemaError(Exception):
    """The database's schema cannot be used by this version of the bot; says what to do."""


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands."""

    revision: str | None  # None: no tables yet
    recorded: bool  # False for databases made before migrations existed
    head: str

    @property
    def current(self) -> bool:
        """Tell whether the schema is the one this version of the bot uses."""
        return self.revision == self.head and self.recorded


@functools.cache
def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    """Return the migrations (read once per process)."""
    return ScriptDirectory.from_config(_alembic_config())


def head() -> str:
    """Return the latest revision."""
    latest = scripts().get_current_head()
    assert latest is not None
    return latest


def revisions() -> list[str]:
    """Return every revision, oldest first."""
    return [script.revision for script in reversed(list(scripts().walk_revisions()))]


def state(connection: Connection, metadata: MetaData) -> SchemaState:
    """Read the schema's revision (recognising databases made before migrations existed)."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if not tables & set(metadata.tables):
        return SchemaState(None, recorded=False, head=head())
    recorded = MigrationContext.configure(connection).get_current_revision()
    if recorded is not None:
        return SchemaState(recorded, recorded=True, head=head())
    # Made by create_all, before migrations: 0002 added the scheduling columns.
    columns = {column["name"] for column in inspector.get_columns("broadcasts")}
    return SchemaState("0002" if "send_at" in columns else "0001", recorded=False, head=head())


def prepare(connection: Connection, metadata: MetaData, *, migrate: bool) -> str | None:
    """Create a new database's tables, or check (and, if `migrate`, upgrade) an existing one.

    Returns what was done, for the log, or None if nothing was needed. Raises SchemaError
    when the database is older than the bot and `migrate` is false, or newer than the bot.
    """
    _lock(connection)
    found = state(connection, metadata)
    if found.revision is None:
        metadata.create_all(connection)
        MigrationContext.configure(connection).stamp(scripts(), found.head)
        return f"created the database tables (schema {found.head})"
    if found.revision not in revisions():
        raise SchemaError(
            f"The database has schema {found.revision}, which this version of the bot does not "
            f"know (it knows up to {found.head}): run the newer version of the bot, or run "
            f"`python -m bot migrate --to {found.head}` with that version first."
        )
    if found.current:
        return None
    if found.revision == found.head:  # made before migrations existed, already up to date
        MigrationContext.configure(connection).stamp(scripts(), found.head)
        return f"recorded the database's schema as {found.head}"
    if not migrate:
        raise SchemaError(
            f"The database has schema {found.revision} and this version of the bot needs "
            f"{found.head}: back it up, then run `python -m bot migrate` "
            "(or start the bot with `python -m bot run --migrate`)."
        )
    return migrate_to(connection, metadata, found.head)


def migrate_to(connection: Connection, metadata: MetaData, revision: str) -> str | None:
    """Upgrade or downgrade the schema to `revision`; return what was done, or None."""
    _lock(connection)
    found = state(connection, metadata)
    if revision not in revisions():
        raise SchemaError(f"There is no schema revision {revision!r}; known: {revisions()}.")
    if not found.recorded and found.revision is not None:
        MigrationContext.configure(connection).stamp(scripts(), found.revision)
    if found.revision == revision:
        return None
    before = "no tables" if found.revision is None else f"schema {found.revision}"
    config = _alembic_config()
    config.attributes["connection"] = connection  # env.py migrates this connection
    order = revisions()
    try:
        if found.revision is None or order.index(revision) > order.index(found.revision):
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
    finally:
        del config.attributes["connection"]
    return f"migrated the database from {before} to schema {revision}"


def _lock(connection: Connection) -> None:
    """Hold the schema alone until the transaction ends, and make its DDL part of it."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
    elif not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        # Python's sqlite3 opens a transaction only before a row is written, so a migration's
        # CREATE and DROP would each commit at once: a downgrade refused midway (0011 with
        # sealed ids) would leave the tables dropped before it gone. One transaction instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
