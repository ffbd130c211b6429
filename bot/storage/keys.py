"""The key check: a missing or wrong ID_ENCRYPTION_KEY stops the bot instead of matching nobody.

The `key_check` table holds one fixed marker, sealed like every id. Read at every start: a
marker sealed with a key needs that key (a wrong one fails AES-SIV's check), and an unsealed
marker refuses a key while the database holds ids (`rotate-key` seals them first). A database
that holds no ids yet takes whatever key it is opened with.
"""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, delete, insert, literal, or_, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement, KeyedColumnElement

from bot.storage.models import KeyCheck, SealedBytes, SealedId, metadata
from bot.storage.sealing import SEALED, SealError, sealer_of, version_of

MARKER = 0x5EA1_ED1D  # any fixed number: the id the key check row holds

MISSING = (
    "The database's ids are sealed with a key, and neither ID_ENCRYPTION_KEY nor "
    "ID_ENCRYPTION_KEY_FILE is set: set the key they were sealed with."
)
WRONG = (
    "ID_ENCRYPTION_KEY (or ID_ENCRYPTION_KEY_FILE) is not the key the database's ids are "
    "sealed with: set the key they were sealed with."
)
UNSEALED = (
    "The database's ids are not sealed, and ID_ENCRYPTION_KEY (or ID_ENCRYPTION_KEY_FILE) is "
    "set: seal them first with `python -m bot rotate-key --to-key-file FILE` run without the "
    "key set, or unset it."
)
NO_MARKER = "The database holds ids but no key check row: migrate it with `python -m bot migrate`."


def sealed_columns() -> list[Column[int]]:
    """Return every column that holds an id, in every table (those of type SealedId)."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SealedId)
    ]


def sealed_payload_columns() -> list[Column[bytes]]:
    """Return every column that holds a sealed payload (of type SealedBytes)."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SealedBytes)
    ]


def raw(column: KeyedColumnElement[int]) -> ColumnElement[bytes]:
    """Return `column` as its stored bytes, not unsealed."""
    return type_coerce(column, LargeBinary)


def check_key(connection: Connection) -> str | None:
    """Check the key against the database's marker; return what was done, or None.

    Raises SealError, in one sentence, for a missing or wrong key, or a key set on a database
    whose ids are not sealed.
    """
    sealer = sealer_of(connection.dialect)
    stored: bytes | None = connection.scalar(select(raw(KeyCheck.__table__.c.marker)))
    if stored is not None and version_of(stored) == SEALED:
        if not sealer.keyed:
            raise SealError(MISSING)
        try:
            if sealer.unseal(stored) == MARKER:
                return None
        except SealError:
            pass
        raise SealError(WRONG)
    if stored is not None and not sealer.keyed:
        return None
    if holds_ids(connection):
        raise SealError(UNSEALED if stored is not None else NO_MARKER)
    connection.execute(delete(KeyCheck))
    connection.execute(insert(KeyCheck).values(id=1, marker=MARKER))
    return "ids are sealed under the key from now on" if sealer.keyed else None


def holds_ids(connection: Connection) -> bool:
    """Tell whether any table but the key check holds an id."""
    for table in metadata.sorted_tables:
        columns = [c for c in sealed_columns() if c.table is table]
        if not columns or table is KeyCheck.__table__:
            continue
        found = (
            select(literal(1)).select_from(table).where(or_(*(c.is_not(None) for c in columns)))
        )
        if connection.scalar(found.limit(1)) is not None:
            return True
    return False
