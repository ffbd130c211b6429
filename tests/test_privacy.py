"""Privacy: /mydata shows exactly the rows that hold a person's id, and /forget leaves none.

The rows are found generically, in every table and every column, so a table added later that
holds people's ids fails these tests until /mydata and /forget cover it.
"""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import inspect, text

from bot import texts
from bot.preview.local_api import my_chat_member_update
from bot.storage import Storage

from .conftest import ADMIN, ANA, BEN, Harness


async def rows_holding(storage: Storage, value: int) -> dict[str, int]:
    """Return, per table, how many rows hold `value` in any column."""
    found = {}
    async with storage.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        for table in tables:
            columns = await connection.run_sync(
                lambda c, t=table: [col["name"] for col in inspect(c).get_columns(t)]
            )
            where = " OR ".join(f'CAST("{column}" AS TEXT) = :v' for column in columns)
            query = text(f'SELECT count(*) FROM "{table}" WHERE {where}')
            count = (await connection.execute(query, {"v": str(value)})).scalar_one()
            if count:
                found[table] = count
    return found


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
