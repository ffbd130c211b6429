"""Privacy: /mydata shows exactly the rows that hold a person's id, and /forget leaves none.

The rows are found generically, in every table and every column, so a table added later that
holds people's ids fails these tests until /mydata and /forget cover it.
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot import texts
from bot.preview.updates import my_chat_member_update
from bot.storage import Storage
from bot.storage.sealing import sealer_of

from .conftest import (
    ADMIN,
    ANA,
    BEN,
    POSTGRES_URL,
    Harness,
    _database_params,
    open_storage,
    rows_holding,
    serving,
)


def shown_counts(mydata: str) -> dict[str, int]:
    """Read /mydata's message back into rows per table."""
    counts = {"subscriptions": mydata.count("• campaign ")}
    for table, pattern in (
        ("deliveries", r"• (\d+) delivery records"),
        ("audit_log", r"• (\d+) organizer actions"),
        ("broadcasts", r"• (\d+) broadcasts you created"),
        ("pledges", r"• (\d+) pledges to join actions"),
        ("feed_items", r"• (\d+) draft statements from a campaign's feed"),
    ):
        found = re.search(pattern, mydata)
        counts[table] = int(found[1]) if found else 0
    approved = re.search(r"• (\d+) broadcasts you approved", mydata)
    counts["broadcasts"] += int(approved[1]) if approved else 0
    return {table: count for table, count in counts.items() if count}


async def test_mydata_shows_exactly_what_is_stored_and_forget_leaves_nothing(
    bot: Harness,
) -> None:
    await bot.command("/start rafah", user=ANA)
    await bot.command("/subscribe", user=ANA)
    await bot.command("/subscribe", user=BEN)
    await bot.command("/broadcast Meet at the square", user=ADMIN)
    confirm = int(bot.last(ADMIN)["message_id"])
    await bot.press("bc:send:1", user=ADMIN, message_id=confirm)
    await bot.settle()
    await bot.command("/subscribe", user=ADMIN)
    await bot.command("/actions", user=ANA)  # and says "I'm in" to the first action
    first = next(d for d in bot.buttons(ANA).values() if str(d).startswith("pl:"))
    await bot.press(str(first), user=ANA, message_id=int(bot.last(ANA)["message_id"]))

    for person in (ANA, ADMIN):
        await bot.command("/mydata", user=person)
        shown = bot.texts(person)[-1]
        assert shown.startswith(texts.MYDATA_TITLE.format(user_id=person))
        stored = await rows_holding(bot.storage, person)
        assert stored, "the scenario stored something about them"
        assert shown_counts(shown) == stored, shown

    stored_about_ben = await rows_holding(bot.storage, BEN)
    await bot.command("/forget", user=ANA)
    await bot.press("forget:yes", user=ANA, message_id=int(bot.last(ANA)["message_id"]))
    assert await rows_holding(bot.storage, ANA) == {}
    assert await rows_holding(bot.storage, BEN) == stored_about_ben  # nobody else's rows
    await bot.command("/mydata", user=ANA)
    assert bot.texts(ANA)[-1] == f"{texts.MYDATA_NONE}\n{texts.MYDATA_PRIVACY}"


async def test_a_person_blocking_the_bot_is_not_logged_by_id(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Logs at INFO and above name groups, never a person's id (docs/privacy.md)."""
    await bot.command("/subscribe", user=ANA)
    caplog.set_level(logging.INFO)
    for chat, kind in ((ANA, "private"), (-100777, "supergroup")):
        await bot.feed(
            my_chat_member_update(
                chat_id=chat, chat_type=kind, user_id=ANA, old_status="member", new_status="kicked"
            )
        )
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert "bot membership in a private chat is now kicked" in logged
    assert "bot membership in chat -100777 is now kicked" in logged
    assert not [line for line in logged if str(ANA) in line]


# Ids sealed at rest (issue 14): a copy of the database is no list of who signed up.

PERSON = 5_123_456_789  # a real-looking id: long enough not to turn up by chance in a file
KEY = bytes(range(64))
ID_COLUMNS = {
    "subscriptions.chat_id",
    "preferences.chat_id",
    "pledges.chat_id",
    "deliveries.chat_id",
    "broadcasts.created_by",
    "broadcasts.status_chat_id",
    "audit_log.admin_id",
}


async def _leave_traces(bot: Harness) -> None:
    """PERSON, an organizer, signs up, pledges, chooses a language and broadcasts."""
    await bot.command("/start rafah", user=PERSON)
    await bot.command("/subscribe", user=PERSON)
    await bot.command("/actions", user=PERSON)
    first = next(d for d in bot.buttons(PERSON).values() if str(d).startswith("pl:"))
    await bot.press(str(first), user=PERSON, message_id=int(bot.last(PERSON)["message_id"]))
    await bot.storage.set_language(PERSON, "ar")
    await bot.command("/broadcast Meet at the square", user=PERSON)
    confirm = int(bot.last(PERSON)["message_id"])
    await bot.press("bc:send:1", user=PERSON, message_id=confirm)
    await bot.settle()


def _needles(value: int) -> dict[str, bytes]:
    """Return the ways an id is written in a file: text, 8 bytes, SQLite's 6-byte integer, and
    the 8 bytes in hex (as pg_dump writes bytes)."""
    eight = value.to_bytes(8, "big", signed=True)
    return {
        "text": str(value).encode(),
        "8 bytes": eight,
        "6 bytes": value.to_bytes(6, "big", signed=True),
        "hex": eight.hex().encode(),
    }


async def _scan(storage: Storage, value: int) -> tuple[set[str], set[str]]:
    """Read every cell of every table; return the columns holding `value` in the clear (as a
    number, inside text, or inside bytes) and those holding its sealed form."""
    clear: set[str] = set()
    sealed: set[str] = set()
    form = sealer_of(storage.engine.sync_engine.dialect).seal(value)
    needles = list(_needles(value).values())
    async with storage.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        for table in tables:
            result = await connection.execute(text(f'SELECT * FROM "{table}"'))
            for row in result.mappings():
                for column, cell in row.items():
                    where = f"{table}.{column}"
                    if cell == value or any(n in _as_bytes(cell) for n in needles):
                        clear.add(where)
                    elif cell == form:
                        sealed.add(where)
    return clear, sealed


def _as_bytes(cell: object) -> bytes:
    return cell if isinstance(cell, bytes) else str(cell).encode()


async def _back_up(storage: Storage, kind: str, folder: Path) -> None:
    """Make SQLite's backup: a `VACUUM INTO` copy (PostgreSQL's is a dump, made by `_copies`)."""
    if kind == "sqlite":
        async with storage.engine.connect() as connection:
            await connection.exec_driver_sql(f"VACUUM INTO '{folder / 'backup.db'}'")


def _copies(kind: str, folder: Path) -> dict[str, bytes]:
    """Return the database as files and as a backup: SQLite's files (with the WAL) and the
    `VACUUM INTO` copy, or a `pg_dump` of PostgreSQL's."""
    if kind == "sqlite":
        return {file.name: file.read_bytes() for file in sorted(folder.glob("*.db*"))}
    dump = subprocess.run(
        ["pg_dump", "--data-only", f"--dbname={POSTGRES_URL}"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return {"pg_dump": dump.stdout}


@pytest.mark.parametrize("key", [KEY, None], ids=["key", "no key"])
@pytest.mark.parametrize("kind", _database_params())
async def test_with_a_key_no_id_is_in_the_database_or_its_backup(
    kind: str, key: bytes | None, tmp_path: Path
) -> None:
    """With a key, the id is in no cell, no file and no backup, and its sealed form only in id
    columns; without one, the same scan finds it (the scan can fail)."""
    storage = await open_storage(kind, tmp_path, key=key)
    try:
        async with serving(storage, admins=frozenset({PERSON})) as bot:
            await _leave_traces(bot)
        clear, sealed = await _scan(storage, PERSON)
        await _back_up(storage, kind, tmp_path)
        # While open, the newest pages are in SQLite's write-ahead log; closing moves them.
        copies = {f"open {name}": data for name, data in _copies(kind, tmp_path).items()}
    finally:
        await storage.close()
    copies.update(_copies(kind, tmp_path))
    needles = _needles(PERSON)
    found = {
        name: [form for form, needle in needles.items() if needle in data]
        for name, data in copies.items()
    }
    found = {name: forms for name, forms in found.items() if forms}
    if key is None:  # stored unsealed: found in the id columns, the files and the backup
        assert clear == ID_COLUMNS
        assert set(found) >= ({"test.db", "backup.db"} if kind == "sqlite" else {"pg_dump"})
        return
    assert clear == set()
    assert sealed == ID_COLUMNS
    assert found == {}
    assert len(copies) >= 2 if kind == "sqlite" else copies["pg_dump"].count(b"COPY ") >= 5
